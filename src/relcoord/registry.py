"""The unit register (config/units.tsv) and network memberships
(config/memberships.tsv): loading, validation with pandera, and which units
and memberships are active in a round."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from .errors import RelcoordError
from .tables import failures_to_message, read_tsv

UNIT_COLUMNS = ["unit_id", "name", "kind", "area", "valid_from", "valid_to", "successor", "aliases"]
MEMBERSHIP_COLUMNS = ["network_id", "unit_id", "from_round", "to_round"]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _round_check(round_order: list[str]) -> pa.Check:
    allowed = set(round_order) | {""}
    return pa.Check.isin(sorted(allowed), error=f"must be empty or a configured round id ({', '.join(round_order)})")


def units_schema(round_order: list[str]) -> pa.DataFrameSchema:
    rc = _round_check(round_order)
    return pa.DataFrameSchema(
        {
            "unit_id": pa.Column(str, pa.Check.str_matches(ID_PATTERN, error="ids use letters, digits, _ . - only"),
                                 unique=True, nullable=False),
            "name": pa.Column(str, pa.Check.str_length(min_value=1, error="a unit needs a name"), nullable=False),
            "kind": pa.Column(str, pa.Check.isin(["base", "network"], error="kind must be 'base' or 'network'")),
            "area": pa.Column(str),
            "valid_from": pa.Column(str, rc),
            "valid_to": pa.Column(str, rc),
            "successor": pa.Column(str),
            "aliases": pa.Column(str),
        },
        strict=True, ordered=False, coerce=False,
    )


def memberships_schema(round_order: list[str]) -> pa.DataFrameSchema:
    rc = _round_check(round_order)
    return pa.DataFrameSchema(
        {
            "network_id": pa.Column(str, nullable=False),
            "unit_id": pa.Column(str, nullable=False),
            "from_round": pa.Column(str, rc),
            "to_round": pa.Column(str, rc),
        },
        strict=True,
    )


def _validate(df: pd.DataFrame, schema: pa.DataFrameSchema, path: str, what: str) -> pd.DataFrame:
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise RelcoordError(
            f"{what} has problems:\n" + failures_to_message(exc.failure_cases, df),
            file=path, hint=f"correct the rows above in {path} (columns are documented in config/README.md)") from None


def load_units(path: str | Path, round_order: list[str]) -> pd.DataFrame:
    """Read and validate the unit register. Optional columns are added empty.
    Successors must name a registered unit."""
    path = str(path)
    df = read_tsv(path, required=["unit_id", "name", "kind"], optional=UNIT_COLUMNS)
    df = _validate(df, units_schema(round_order), path, "the unit register")
    bad = df[(df["successor"] != "") & ~df["successor"].isin(df["unit_id"])]
    if len(bad):
        i = bad.index[0]
        raise RelcoordError(f"successor {bad.loc[i, 'successor']!r} of unit {bad.loc[i, 'unit_id']!r} is not a unit_id",
                            file=path, row=int(i) + 2, column="successor", hint="name an existing unit_id or leave it empty")
    _check_texts_distinct(df, path, round_order)
    return df.reset_index(drop=True)


def _check_texts_distinct(df: pd.DataFrame, path: str, round_order: list[str]) -> None:
    """Stop when two units that exist in a common round share a text: their unit_id, name or an
    alias coincide after :func:`relcoord.codebook.normalise_text` (case, Unicode compatibility
    forms, invisible characters, blanks), e.g. an alias equal to another unit's name. Export texts
    are matched that way, so the first unit would silently win. A text of invisible characters
    only is refused too. Units whose rounds do not overlap (a unit and its renamed successor) may
    share a name. Rows are named as a spreadsheet counts them (the header is row 1)."""
    from .codebook import normalise_text
    pos = {r: i for i, r in enumerate(round_order)}
    seen: dict[str, list[tuple[int, str, str, str, int, int]]] = {}
    for i, uid, name, aliases, frm, to in zip(df.index, df["unit_id"], df["name"], df["aliases"],
                                              df["valid_from"], df["valid_to"]):
        row = int(i) + 2
        start = pos.get(frm, -1) if frm else -1
        end = pos.get(to, len(round_order)) if to else len(round_order)
        texts = [("unit_id", uid), ("name", name)] + [("aliases", a) for a in str(aliases).split("|")]
        for col, text in texts:
            if not str(text).strip():
                continue
            key = normalise_text(text)
            if key == "":
                raise RelcoordError(f"the {col} {text!r} of unit {uid!r} consists of invisible characters only",
                                    file=path, row=row, column=col,
                                    hint="delete the invisible characters (retype the text) or the entry")
            for prow, puid, pcol, ptext, pstart, pend in seen.get(key, []):
                if puid == uid or start > pend or pstart > end:
                    continue
                same = "the same text" if ptext == text else "the same text once case, Unicode forms, " \
                                                                 "invisible characters and blanks are ignored"
                what, pwhat = ("alias" if c == "aliases" else c for c in (col, pcol))
                raise RelcoordError(
                    f"units {puid!r} (row {prow}, {pwhat} {ptext!r}) and {uid!r} (row {row}, {what} {text!r}) share "
                    f"{same}, so an export naming it could not be told apart",
                    file=path, row=row, column=col,
                    hint=f"give each unit its own name and aliases: change or remove the {what} in row {row} or the "
                         f"{pwhat} in row {prow} (units that exist in different rounds only may share a name: set "
                         "valid_from/valid_to)")
            seen.setdefault(key, []).append((row, uid, col, text, start, end))


def load_memberships(path: str | Path, units: pd.DataFrame, round_order: list[str]) -> pd.DataFrame:
    """Read and validate memberships: network_id must be a network unit,
    unit_id a base unit."""
    path = str(path)
    df = read_tsv(path, required=["network_id", "unit_id"], optional=MEMBERSHIP_COLUMNS)
    kinds = dict(zip(units["unit_id"], units["kind"]))
    schema = memberships_schema(round_order)
    schema.columns["network_id"] = pa.Column(str, pa.Check(lambda s: s.map(kinds).eq("network"),
                                                           error="must be a unit_id of kind network in units.tsv"))
    schema.columns["unit_id"] = pa.Column(str, pa.Check(lambda s: s.map(kinds).eq("base"),
                                                        error="must be a unit_id of kind base in units.tsv"))
    return _validate(df, schema, path, "the membership table").reset_index(drop=True)


def _active(frm: pd.Series, to: pd.Series, round_id: str, round_order: list[str]) -> pd.Series:
    pos = {r: i for i, r in enumerate(round_order)}
    here = pos[round_id]
    start = frm.map(lambda r: pos.get(r, -1) if r else -1)
    end = to.map(lambda r: pos.get(r, len(round_order)) if r else len(round_order))
    return (start <= here) & (here <= end)


def units_in_round(units: pd.DataFrame, round_id: str, round_order: list[str]) -> pd.DataFrame:
    """Units that exist in ``round_id`` (valid_from <= round <= valid_to)."""
    return units[_active(units["valid_from"], units["valid_to"], round_id, round_order)].reset_index(drop=True)


def memberships_in_round(memberships: pd.DataFrame, round_id: str, round_order: list[str]) -> pd.DataFrame:
    """(network_id, unit_id) pairs active in ``round_id``."""
    m = memberships[_active(memberships["from_round"], memberships["to_round"], round_id, round_order)]
    return m[["network_id", "unit_id"]].drop_duplicates().reset_index(drop=True)
