"""Errors of bulk imports."""

from __future__ import annotations

from typing import ClassVar

from mcm_shared.errors import InvalidInput, ProblemError


class ImportTooLarge(ProblemError):
    status: ClassVar[int] = 413
    type_slug, title = "import-too-large", "The import file is too large"


class NotCsv(ProblemError):
    status: ClassVar[int] = 415
    type_slug, title = "import-not-csv", "Send the import as text/csv"


class UnreadableImport(InvalidInput):
    type_slug, title = "import-unreadable", "The import file cannot be read"


class ImportRefused(InvalidInput):
    """A real run over a file with problems: nothing was written; `errors` lists them by line."""

    type_slug, title = "import-refused", "The import file has problems; nothing was imported"
