"""Which database constraint refused a write, so a lost race becomes the right 4xx problem.

The Python checks run first (under the circle's row lock they are exact); the constraints are
the backstop, and a use case wrapped in `maps_conflicts` answers the same problem either way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_shared.errors import ProblemError

T = TypeVar("T")
P = ParamSpec("P")


def violated_constraint(exc: IntegrityError) -> str:
    """The constraint name PostgreSQL reported, or '' when it cannot be told."""
    seen: set[int] = set()
    current: BaseException | None = exc.orig
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        name = getattr(current, "constraint_name", None)
        if name:
            return str(name)
        current = current.__cause__ or current.__context__
    return ""


def maps_conflicts(
    mapping: Mapping[str, type[ProblemError]],
) -> Callable[
    [Callable[Concatenate[AsyncSession, P], Coroutine[Any, Any, T]]],
    Callable[Concatenate[AsyncSession, P], Coroutine[Any, Any, T]],
]:
    """Decorate a use case `f(session, ...)`: an IntegrityError on a named constraint (at flush
    or commit) rolls back and raises the mapped problem; any other one propagates."""

    def decorate(
        function: Callable[Concatenate[AsyncSession, P], Coroutine[Any, Any, T]],
    ) -> Callable[Concatenate[AsyncSession, P], Coroutine[Any, Any, T]]:
        async def wrapper(session: AsyncSession, /, *args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await function(session, *args, **kwargs)
            except IntegrityError as exc:
                await session.rollback()
                problem = mapping.get(violated_constraint(exc))
                if problem is None:
                    raise
                raise problem() from None

        functools.update_wrapper(wrapper, function)
        return wrapper

    return decorate
