"""Readers turn one survey export into a :class:`RawExport`: a wide table of
raw strings plus the export's own metadata. They decode nothing: codes stay
codes, so validation can report the exact cell a person typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class RawExport:
    """One survey export as read from disk.

    data:        one row per respondent record, every cell a ``str`` (``""`` for
                 blank; never NaN), columns as named in the export.
    source_file: per row, the file (or ``workbook.xlsx:Sheet``) it came from.
    source_row:  per row, its row number as a spreadsheet user counts it
                 (the header row is 1, the first record is 2).
    structure:   SurveyXact-style question metadata (questionName, variableName,
                 questionType, subType, questionText, choiceValue, choiceText);
                 empty for formats without one.
    labels:      value labels (variable, value, label), value as ``str``.
    files:       every file read, for provenance (sha256).
    format:      reader name, e.g. ``"surveyxact-csv"``.
    column_files: where a column's cells live when that differs per column
                 (a workbook's Dataset split over sheets): column -> file/sheet.
    missing_values: per variable, codes the export itself declares missing
                 (SPSS user-missing values): read as "don't know", never a score.
    cell_rows:   per column, the source row of each cell when it differs from
                 the record's row (the canonical long format: one file row per
                 answer); 0 where the cell came from no row.
    column_labels: how failures name a column when the export's column is
                 synthetic (canonical: ``frequent|HJP`` -> ``value``).
    problems:    record-level problems the reader found and validation turns into
                 quarantine rows: columns ``index`` (record position), ``rule``,
                 ``column``, ``value`` (None: the record's pseudonymised id),
                 ``message`` ("" for the rule's text), ``source_file``,
                 ``source_row`` (None: the record's own).
    """

    data: pd.DataFrame
    source_file: pd.Series
    source_row: pd.Series
    structure: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["questionName", "variableName", "questionType", "subType",
                 "questionText", "choiceValue", "choiceText"]))
    labels: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["variable", "value", "label"]))
    files: list[Path] = field(default_factory=list)
    format: str = ""
    encoding: str | None = None
    delimiter: str | None = None
    column_files: dict[str, str] = field(default_factory=dict)
    missing_values: dict[str, set[str]] = field(default_factory=dict)
    cell_rows: dict = field(default_factory=dict)
    column_labels: dict[str, str] = field(default_factory=dict)
    problems: pd.DataFrame | None = None
