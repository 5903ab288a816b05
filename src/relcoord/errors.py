"""The one exception type users see, with file, row, column and a fix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RelcoordError(Exception):
    """An input problem a user can fix.

    ``message`` says what is wrong, ``hint`` what to do about it. ``file``,
    ``row`` (as a spreadsheet user counts: the header is row 1) and ``column``
    locate it when known. ``str(err)`` is the full, human-readable message.
    """

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = self.message
        if where:
            text = f"{', '.join(where)}: {text}"
        if self.hint:
            text += f"\n  What to do: {self.hint}"
        return text
