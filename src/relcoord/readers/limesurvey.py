"""Reader for LimeSurvey CSV exports (Responses > Export > CSV).

LimeSurvey writes UTF-8 with a byte-order mark, every field quoted, CRLF line
ends and ``;`` between fields by default (``,`` when chosen). One header row:

- "Question code" headings: ``id``, ``Q1``, array items ``Q3[SQ001]``,
  multiple-choice options ``Q2[SQ001]``; the SPSS/R variant writes
  ``Q3_SQ001``;
- "Question code & question text" headings: ``Q3[SQ001]. How often ...?
  [Hjemmeplejen]``: the column is named by the code, the rest is kept as the
  question text, whose last ``[...]`` names the array row (the target unit);
- full question texts only: the text is the column name (use ``pattern:``
  with ``{target}`` in the codebook).

Answers are answer codes (``A1`` .. ``A5``, ``Y`` for a ticked option) or the
full answer texts; the codebook's ``answers:`` maps them to instrument codes.
The synthesised structure names each column's question ``Q3`` (the code before
``[`` or before ``_SQ...``), so ``items: {frequent: Q3}`` works when the
headings carry the row texts.
"""

from __future__ import annotations

import re
from pathlib import Path

from relcoord.errors import RelcoordError
from relcoord.readers import RawExport
from relcoord.readers._text import (check_delimiter, check_header, decode, delimiter_option, encoding_option,
                                    file_series, parse_csv, problems_frame, read_bytes, refuse_binary,
                                    sniff_delimiter, split_header, structure_frame, truncated_last_row)

__all__ = ["read_limesurvey", "question_of", "split_heading"]

HINT = ("export the responses from LimeSurvey again (Responses > Export > CSV, 'Question code' headings), or set "
        "`reader: {encoding: ..., delimiter: ...}` in the round's config")
_CODE = r"[A-Za-z][A-Za-z0-9_]*(?:\[[^\]\s]*\])*"
_CODE_TEXT = re.compile(rf"^({_CODE})\.\s+(.*)$", re.S)
_BRACKET = re.compile(r"^([^\[]+)\[")
_SPSS_SQ = re.compile(r"^(.+?)_(SQ[0-9A-Za-z]*)$")


def question_of(name: str) -> str:
    """``Q3[SQ001]`` -> ``Q3``; ``Q3_SQ001`` -> ``Q3``; ``Q1`` -> ``Q1``."""
    m = _BRACKET.match(name)
    if m:
        return m.group(1)
    m = _SPSS_SQ.match(name)
    return m.group(1) if m else name


def split_heading(heading: str) -> tuple[str, str]:
    """A "code & text" heading -> (code, text); any other heading -> (heading, "")."""
    m = _CODE_TEXT.match(heading.strip())
    if m:
        return m.group(1), m.group(2).strip()
    return heading, ""


def read_limesurvey(path: str | Path, *, encoding: str = "auto", delimiter: str = "auto") -> RawExport:
    """Read a LimeSurvey CSV export."""
    p = Path(path)
    if not p.exists():
        raise RelcoordError("the LimeSurvey export does not exist", file=str(p),
                            hint="check the path in the round's config; it must name the exported .csv file")
    if p.is_dir():
        raise RelcoordError("this is a folder; a LimeSurvey export is one .csv file", file=str(p),
                            hint="point the round's `export:` at the .csv file LimeSurvey produced")
    raw = read_bytes(p)
    refuse_binary(raw, str(p), "a LimeSurvey CSV export",
                  "export the responses from LimeSurvey as CSV, or set the round's `format:` to the file's real "
                  "format (spss for a .sav export)")
    text, enc = decode(p, encoding_option(encoding), HINT, raw=raw)
    forced = delimiter_option(delimiter)
    delim = forced or sniff_delimiter(text)
    check_delimiter(text, delim, forced is not None, str(p))
    frame = parse_csv(text, delim, str(p), HINT)
    headers, body, source_row = split_header(frame, 1, str(p), HINT)
    split = [split_heading(h) for h in body.columns]
    names = [c for c, _ in split]
    if names != list(body.columns):
        check_header(names, str(p), 1, HINT)
        body.columns = names
    structure = structure_frame(names, question_of, [t for _, t in split])
    return RawExport(data=body, source_file=file_series(body.index, str(p)), source_row=source_row,
                     structure=structure, files=[p], format="limesurvey-csv", encoding=enc, delimiter=delim,
                     problems=problems_frame(truncated_last_row(text, delim, len(names), len(body) - 1)))
