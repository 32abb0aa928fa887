"""API fuzzing with schemathesis, of every service's OpenAPI document, against the real processes:
directly against each service and through the gateway, each with an admin's and a member's token.

Cases come from schemathesis (valid and invalid data for every operation; path parameters are
either generated or real object ids, so requests also get past "not found"). Every response is
checked by schemathesis' checks, split in two:

* FATAL — the test fails: any 5xx or a broken connection (`not_a_server_error`); a 2xx response
  that does not match its documented schema (`response_schema_conformance`); a protected
  operation that answers without a token (`ignored_auth`); an error answer that is not
  application/problem+json or shows a stack trace (ARCHITECTURE §7).
* REPORTED — written to the report (and summarised as a warning): findings that mean the OpenAPI
  document is incomplete rather than the service broken — undocumented status codes or content
  types, documented error schemas the answers do not follow, accepted "invalid" or refused "valid"
  data according to the schema, and so on. They are worth fixing in the documents; they do not
  fail `make test`.

Volume: FUZZ_EXAMPLES per operation and mode (default 10; `make fuzz` uses 500) and a total time
cap FUZZ_TIME_BUDGET in seconds (default 180 for the small run, none for long runs), shared
equally by the targets. FUZZ_SEED fixes the random seed (default: fixed for small runs, so
`make test` is repeatable; random for long runs). FUZZ_REPORT names a JSON file for the findings.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import warnings
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from seckit import Accounts, User, routed_operations, sample_objects

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
LONG_RUN = FUZZ_EXAMPLES > 50
FUZZ_TIME_BUDGET = float(os.environ.get("FUZZ_TIME_BUDGET", "0" if LONG_RUN else "180"))
FUZZ_SEED = int(os.environ["FUZZ_SEED"]) if os.environ.get("FUZZ_SEED") else (None if LONG_RUN else 20261127)
REQUEST_TIMEOUT = 30.0

SERVICES = ("auth", "circles", "payments")
TARGETS = [(service, via, who) for service in SERVICES for via in ("direct", "gateway") for who in ("admin", "member")]

FATAL_CHECKS = ("not_a_server_error", "ignored_auth")
SCHEMA_CHECKS = ("response_schema_conformance",)  # fatal on 2xx answers, reported otherwise
FORMAT_NIT = re.compile(r'is not a "[\w-]+"')
STRUCTURAL = re.compile(
    r"is not of type|is a required property|is not one of|Additional properties|is not valid under|"
    r"is too long|is too short|is less than|is greater than|does not match|Undocumented"
)
REPORTED_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
)

# Operations that end the caller's session(s): called with a session of their own, and the
# shared session is signed in again afterwards.
SESSION_ENDING = {
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-all"),
    ("DELETE", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/password"),
}
RELOGIN_AFTER = {("POST", "/api/v1/auth/logout-all"), ("POST", "/api/v1/auth/password"), ("DELETE", "/api/v1/auth/me")}

# Path parameters that can point at real objects (see seckit.sample_objects).
REAL_PARAMETERS = {
    "circle_id": "circle",
    "meeting_id": "meeting",
    "goal_id": "goal",
    "event_id": "published",
    "obligation_id": "obligation",
    "payment_id": "payment",
    "registration_id": "registration",
    "template_id": "template",
    "user_id": "user",
}


# -- identities ---------------------------------------------------------------------------------------
@dataclass
class Identity:
    accounts: Accounts
    user: User

    def token_for(self, key: tuple[str, str]) -> str:
        if key in SESSION_ENDING:
            return self.accounts.login(User(self.user.email, self.user.password)).token
        return self.user.token

    def after(self, key: tuple[str, str], status: int | None) -> None:
        if key in RELOGIN_AFTER:
            self.accounts.login(self.user)


# -- findings -----------------------------------------------------------------------------------------
@dataclass
class Findings:
    fatal: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    reported: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)

    def add(self, fatal: bool, key: tuple[str, ...], example: str) -> None:
        bucket = self.fatal if fatal else self.reported
        examples = bucket.setdefault(key, [])
        self.counts[("fatal" if fatal else "reported", *key)] += 1
        if len(examples) < 2:
            examples.append(example[:1500])


@pytest.fixture(scope="module")
def accounts(platform) -> Accounts:
    return Accounts(platform)


@pytest.fixture(scope="module")
def identities(accounts: Accounts) -> dict[str, Identity]:
    return {
        "admin": Identity(accounts, accounts.admin),
        "member": Identity(accounts, accounts.create(prefix="fuzz-member")),
    }


@pytest.fixture(scope="module")
def objects(platform, accounts: Accounts, identities: dict[str, Identity]) -> dict[str, str]:
    ids = sample_objects(platform, accounts.admin, identities["member"].user)
    # `{user_id}` operations (roles, disable, ...) get a user of their own: fuzzing them with the
    # member identity's id would sign that identity out for the targets that follow.
    ids["user"] = accounts.create(prefix="fuzz-subject").id
    return ids


@pytest.fixture(scope="module")
def schemas(platform) -> dict[str, Any]:
    config = schemathesis.Config(seed=FUZZ_SEED)
    return {
        service: schemathesis.openapi.from_url(f"{platform.url(service)}/openapi.json", config=config, timeout=30)
        for service in SERVICES
    }


@pytest.fixture(scope="module")
def documents(platform) -> dict[str, dict[str, Any]]:
    return {service: requests.get(f"{platform.url(service)}/openapi.json", timeout=30).json() for service in SERVICES}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data: dict[str, Any] = {"examples_per_operation": FUZZ_EXAMPLES, "seed": FUZZ_SEED, "targets": {}}
    yield data
    path = Path(os.environ.get("FUZZ_REPORT") or tmp_path_factory.mktemp("fuzz-report") / "fuzz-report.json")
    path.write_text(json.dumps(data, indent=2, default=str))
    print(f"\nfuzz report: {path}")


def _deadline() -> float:
    """This target's share of the time budget, from now."""
    if FUZZ_TIME_BUDGET <= 0:
        return float("inf")
    return time.monotonic() + FUZZ_TIME_BUDGET / len(TARGETS)


# -- checks ---------------------------------------------------------------------------------------------
def _check(name: str) -> Callable:
    return getattr(schemathesis.checks, name)


def _problem_shape(response) -> str | None:
    """ARCHITECTURE §7: every error is application/problem+json, never a stack trace."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", "")
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    text = response.content.decode("utf-8", "replace") if response.content else ""
    if "Traceback (most recent call last)" in text or 'File "/' in text:
        return "stack trace in an error answer"
    if response.request.method != "HEAD" and not content_type.startswith("application/problem+json"):
        return f"{response.status_code} answered as {content_type or 'no content type'}, not application/problem+json"
    return None


def _failure_text(exc: BaseException) -> str:
    parts = [str(exc)]
    for inner in getattr(exc, "exceptions", ()) or ():
        parts.append(f"{type(inner).__name__}: {getattr(inner, 'title', '')} {getattr(inner, 'message', inner)}")
    return "\n".join(part for part in parts if part)[:1200]


def _examine(case, response, headers: dict[str, str], findings: Findings, label: str) -> None:
    status = response.status_code
    findings.statuses[(label, status)] += 1
    reproduce = case.as_curl_command(headers=headers)

    def run(name: str) -> str | None:
        try:
            case.validate_response(response, checks=[_check(name)], headers=headers)
        except (Exception, BaseExceptionGroup) as exc:
            return _failure_text(exc)
        return None

    for name in FATAL_CHECKS:
        failure = run(name)
        if failure:
            findings.add(True, (name, label, str(status)), f"{failure}\n{reproduce}")
    for name in SCHEMA_CHECKS:
        failure = run(name)
        if failure:
            # A value that only misses a JSON Schema `format` (e.g. pydantic writes times as
            # "18:00:00" where RFC 3339 "time" wants an offset) is a documentation nit.
            format_only = FORMAT_NIT.search(failure) is not None and STRUCTURAL.search(failure) is None
            fatal = 200 <= status < 300 and not format_only
            findings.add(
                fatal,
                (name if not format_only else f"{name} (format only)", label, str(status)),
                f"{failure}\n{reproduce}",
            )
    shape = _problem_shape(response)
    if shape:
        findings.add(True, ("problem_json", label, str(status)), f"{shape}\n{reproduce}")
    for name in REPORTED_CHECKS:
        failure = run(name)
        if failure:
            findings.add(False, (name, label, str(status)), f"{failure}\n{reproduce}")


# -- running one operation ---------------------------------------------------------------------------
def _strategy(operation, objects: dict[str, str]):
    names = [parameter.name for parameter in operation.path_parameters]
    # Real ids let requests reach validation and business rules; DELETEs get generated ids only,
    # so the shared objects outlive the fuzzing of the operations that follow.
    known = (
        {}
        if operation.method.upper() == "DELETE"
        else {name: objects[REAL_PARAMETERS[name]] for name in names if name in REAL_PARAMETERS}
    )
    options = [operation.as_strategy(GenerationMode.POSITIVE)]
    if known:
        options.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    # Some operations have no negative strategy (nothing in them can be made invalid).
    with contextlib.suppress(Exception):
        options.append(operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=known or None))
    return st.one_of(*options)


def _fuzz_operation(
    operation,
    *,
    base_url: str,
    identity: Identity,
    objects: dict[str, str],
    findings: Findings,
    deadline: float,
    session: requests.Session,
) -> None:
    method, path = operation.method.upper(), operation.path
    key = (method, path)
    label = f"{method} {path}"
    seed = None if FUZZ_SEED is None else FUZZ_SEED + zlib.crc32(label.encode())

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
        report_multiple_bugs=False,
    )
    @given(case=_strategy(operation, objects))
    def run(case) -> None:
        if time.monotonic() > deadline:
            return
        headers = {"Authorization": f"Bearer {identity.token_for(key)}"}
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            findings.add(
                True, ("no_answer", label, type(exc).__name__), f"{exc}\n{case.as_curl_command(headers=headers)}"
            )
            identity.after(key, None)
            return
        _examine(case, response, headers, findings, label)
        identity.after(key, response.status_code)

    if seed is not None:
        run = hypothesis.seed(seed)(run)
    try:
        run()
    except hypothesis.errors.HypothesisException as exc:  # e.g. nothing could be generated
        findings.add(False, ("generation", label, type(exc).__name__), str(exc)[:500])


def _routed_through_gateway(documents: dict[str, dict[str, Any]], service: str) -> set[tuple[str, str]]:
    routed = routed_operations({service: documents[service]}) + routed_operations(
        {service: documents[service]}, public=True
    )
    return {(method, path) for _, method, path in routed}


# -- the test -----------------------------------------------------------------------------------------
@pytest.mark.timeout(0)
@pytest.mark.parametrize(("service", "via", "who"), TARGETS, ids=[f"{s}-{v}-{w}" for s, v, w in TARGETS])
def test_fuzz(platform, schemas, documents, identities, objects, report, service: str, via: str, who: str):
    deadline = _deadline()
    base_url = platform.url("gateway" if via == "gateway" else service)
    routed = _routed_through_gateway(documents, service) if via == "gateway" else None
    findings = Findings()
    operations = 0
    session = requests.Session()
    session.trust_env = False  # 127.0.0.1 only, never through a proxy from the environment
    for result in schemas[service].get_all_operations():
        try:
            operation = result.ok()
        except Exception as exc:
            findings.add(True, ("invalid_schema", service, type(exc).__name__), str(exc)[:1000])
            continue
        if routed is not None and (operation.method.upper(), operation.path) not in routed:
            continue
        operations += 1
        _fuzz_operation(
            operation,
            base_url=base_url,
            identity=identities[who],
            objects=objects,
            findings=findings,
            deadline=deadline,
            session=session,
        )
    session.close()
    out_of_time = time.monotonic() > deadline
    target = f"{service} via {via} as {who}"
    report["targets"][target] = {
        "operations": operations,
        "stopped_by_time_budget": out_of_time,
        "requests_by_status": {
            f"{label} → {status}": count for (label, status), count in sorted(findings.statuses.items())
        },
        "fatal": {" | ".join(key): examples for key, examples in findings.fatal.items()},
        "reported": {" | ".join(key): examples for key, examples in findings.reported.items()},
        "counts": {" | ".join(key): count for key, count in findings.counts.items()},
    }
    if findings.reported:
        summary = Counter(key[0] for key in findings.reported)
        warnings.warn(
            f"fuzz {target}: schema-completeness findings (reported, not failing): "
            + ", ".join(f"{name} ×{count} operations" for name, count in summary.most_common()),
            stacklevel=1,
        )
    assert operations > 0, f"no operations fuzzed for {target}"
    assert not findings.fatal, f"fuzz {target}: {len(findings.fatal)} fatal finding(s)\n\n" + "\n\n".join(
        f"[{' | '.join(key)}]\n" + "\n---\n".join(examples) for key, examples in sorted(findings.fatal.items())
    )
