"""The unit register (config/units.tsv) and network memberships
(config/memberships.tsv): loading, validation with pandera, which units and
memberships are active in a round (:func:`units_in_round`,
:func:`memberships_in_round`, :func:`shared_network_pairs`), and renamed or
merged units (:func:`successor_map`, :func:`apply_successors`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from .codes import is_blank, normalise_text
from .errors import RelcoordError
from .tables import failures_to_message, read_tsv

UNIT_COLUMNS = ["unit_id", "name", "kind", "area", "valid_from", "valid_to", "successor", "aliases"]
#: optional: a unit's name in one report language (``name_en`` for English reports), when it differs
LANGUAGE_NAME_COLUMNS = ["name_da", "name_en"]
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
            **{c: pa.Column(str) for c in LANGUAGE_NAME_COLUMNS},
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
    df = read_tsv(path, required=["unit_id", "name", "kind"], optional=[*UNIT_COLUMNS, *LANGUAGE_NAME_COLUMNS])
    df = _validate(df, units_schema(round_order), path, "the unit register")
    bad = df[(df["successor"] != "") & ~df["successor"].isin(df["unit_id"])]
    if len(bad):
        i = bad.index[0]
        raise RelcoordError(
            f"successor {bad.loc[i, 'successor']!r} of unit {bad.loc[i, 'unit_id']!r} is not a unit_id",
            file=path,
            row=int(i) + 2,
            column="successor",
            hint="name an existing unit_id or leave it empty",
        )
    _check_texts_distinct(df, path, round_order)
    return df.reset_index(drop=True)


def units_in_language(units: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The register as a report in ``lang`` names the units: ``name`` replaced by ``name_<lang>`` where
    that column gives one (reports only; exports are matched by name, aliases and id as always)."""
    col = f"name_{lang}"
    if col not in units.columns:
        return units
    given = units[col].fillna("").astype(str).str.strip() != ""
    return units.assign(name=units["name"].where(~given, units[col].astype(str).str.strip()))


def language_name_columns(units: pd.DataFrame) -> list[str]:
    """The per-language name columns a register fills (to keep when it is written back)."""
    return [c for c in LANGUAGE_NAME_COLUMNS if c in units.columns and units[c].fillna("").astype(str).ne("").any()]


def _check_texts_distinct(df: pd.DataFrame, path: str, round_order: list[str]) -> None:
    """Stop when two units that exist in a common round share a text: their unit_id, name or an
    alias coincide after :func:`relcoord.codes.normalise_text` (case, Unicode compatibility
    forms, invisible characters, blanks), e.g. an alias equal to another unit's name. Export texts
    are matched that way, so the first unit would silently win. A text of invisible characters
    only is refused too. Units whose rounds do not overlap (a unit and its renamed successor) may
    share a name. Rows are named as a spreadsheet counts them (the header is row 1)."""
    pos = {r: i for i, r in enumerate(round_order)}
    seen: dict[str, list[tuple[int, str, str, str, int, int]]] = {}
    for i, uid, name, aliases, frm, to in zip(
        df.index, df["unit_id"], df["name"], df["aliases"], df["valid_from"], df["valid_to"]
    ):
        row = int(i) + 2
        start = pos.get(frm, -1) if frm else -1
        end = pos.get(to, len(round_order)) if to else len(round_order)
        texts = [("unit_id", uid), ("name", name)] + [("aliases", a) for a in str(aliases).split("|")]
        for col, text in texts:
            if not str(text).strip():
                continue
            key = normalise_text(text)
            if key == "":
                raise RelcoordError(
                    f"the {col} {text!r} of unit {uid!r} consists of invisible characters only",
                    file=path,
                    row=row,
                    column=col,
                    hint="delete the invisible characters (retype the text) or the entry",
                )
            for prow, puid, pcol, ptext, pstart, pend in seen.get(key, []):
                if puid == uid or start > pend or pstart > end:
                    continue
                same = (
                    "the same text"
                    if ptext == text
                    else "the same text once case, Unicode forms, invisible characters and blanks are ignored"
                )
                what, pwhat = ("alias" if c == "aliases" else c for c in (col, pcol))
                raise RelcoordError(
                    f"units {puid!r} (row {prow}, {pwhat} {ptext!r}) and {uid!r} (row {row}, {what} {text!r}) share "
                    f"{same}, so an export naming it could not be told apart",
                    file=path,
                    row=row,
                    column=col,
                    hint=f"give each unit its own name and aliases: change or remove the {what} in row {row} or the "
                    f"{pwhat} in row {prow} (units that exist in different rounds only may share a name: set "
                    "valid_from/valid_to)",
                )
            seen.setdefault(key, []).append((row, uid, col, text, start, end))


def load_memberships(path: str | Path, units: pd.DataFrame, round_order: list[str]) -> pd.DataFrame:
    """Read and validate memberships: network_id must be a network unit,
    unit_id a base unit."""
    path = str(path)
    df = read_tsv(path, required=["network_id", "unit_id"], optional=MEMBERSHIP_COLUMNS)
    kinds = dict(zip(units["unit_id"], units["kind"]))
    schema = memberships_schema(round_order)
    schema.columns["network_id"] = pa.Column(
        str, pa.Check(lambda s: s.map(kinds).eq("network"), error="must be a unit_id of kind network in units.tsv")
    )
    schema.columns["unit_id"] = pa.Column(
        str, pa.Check(lambda s: s.map(kinds).eq("base"), error="must be a unit_id of kind base in units.tsv")
    )
    return _validate(df, schema, path, "the membership table").reset_index(drop=True)


# --------------------------------------------------------------------------- rounds: what exists when


def _round_position(round_id: Any, round_order: Sequence[str], column: str, file: str) -> int | None:
    """Position of ``round_id`` in ``round_order``; None for a blank (an open end)."""
    if is_blank(round_id):
        return None
    r = str(round_id).strip()
    order = [str(x) for x in round_order]
    if r not in order:
        raise RelcoordError(
            f"{column} {r!r} is not a round in round_order {order}",
            file=file,
            column=column,
            hint="use a round id declared in config (rounds), or leave it empty for an open range",
        )
    return order.index(r)


def _active(
    table: pd.DataFrame, start: str, end: str, round_id: str, round_order: Sequence[str], file: str
) -> np.ndarray:
    """Rows whose ``start <= round_id <= end`` by position in ``round_order`` (a blank or a
    missing column is an open end; a round id not in ``round_order`` is an error)."""
    here = _round_position(round_id, round_order, "round", file)
    keep = np.ones(len(table), dtype=bool)
    for column, inside in ((start, lambda pos: pos <= here), (end, lambda pos: here <= pos)):
        if column not in table.columns:
            continue
        positions = {v: _round_position(v, round_order, column, file) for v in pd.unique(table[column])}
        keep &= np.fromiter(
            (positions[v] is None or inside(positions[v]) for v in table[column]), dtype=bool, count=len(table)
        )
    return keep


def units_in_round(units: pd.DataFrame, round_id: str, round_order: Sequence[str]) -> pd.DataFrame:
    """Units that exist in ``round_id`` (valid_from <= round <= valid_to)."""
    return units[_active(units, "valid_from", "valid_to", round_id, round_order, "units")].reset_index(drop=True)


def memberships_in_round(
    memberships: pd.DataFrame | None, round_id: str, round_order: Sequence[str], units: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The memberships of ``round_id``: ``network_id, unit_id`` (text, unique rows, in table order)
    with ``from_round <= round <= to_round`` by position in ``round_order``; a blank bound (or a
    missing column) is open, a round id outside ``round_order`` is an error. With ``units`` the
    ids are mapped to their final successor (:func:`apply_successors`). The one definition of
    "unit U is a member of network N in round R" (scores, compare and the simulation use it)."""
    cols = ["network_id", "unit_id"]
    if memberships is None or len(memberships) == 0:
        return pd.DataFrame(columns=cols)
    keep = _active(memberships, "from_round", "to_round", round_id, round_order, "memberships")
    active = memberships.loc[keep, cols].astype(str)
    if units is not None:
        active = apply_successors(active, units, cols)
    return active.drop_duplicates().reset_index(drop=True)


def shared_networks(
    memberships: pd.DataFrame | None, round_id: str, round_order: Sequence[str], units: pd.DataFrame | None = None
) -> dict[tuple[str, str], list[str]]:
    """Ordered pairs (u, v), u != v, of units that are members of a common network in
    ``round_id`` -> those networks (in table order); pairs sorted."""
    pairs: dict[tuple[str, str], list[str]] = {}
    active = memberships_in_round(memberships, round_id, round_order, units)
    for net, grp in active.groupby("network_id", sort=False):
        members = sorted(set(grp["unit_id"]))
        for u in members:
            for v in members:
                if u != v:
                    pairs.setdefault((u, v), []).append(str(net))
    return dict(sorted(pairs.items()))


def shared_network_pairs(
    memberships: pd.DataFrame | None, round_id: str, round_order: Sequence[str], units: pd.DataFrame | None = None
) -> set[tuple[str, str]]:
    """Ordered pairs (u, v), u != v, of units that are members of a common network in ``round_id``."""
    return set(shared_networks(memberships, round_id, round_order, units))


# --------------------------------------------------------------------------- successors: renamed and merged units


def successor_map(units: pd.DataFrame | None) -> dict[str, str]:
    """``{unit_id: final successor}`` for units whose ``successor`` is set.

    Chains (A -> B -> C) resolve to the last unit; a cycle is an error."""
    if units is None or "successor" not in units.columns:
        return {}
    direct = {
        str(u): str(s).strip()
        for u, s in zip(units["unit_id"], units["successor"])
        if not is_blank(s) and str(s).strip() != str(u)
    }
    out: dict[str, str] = {}
    for start in direct:
        seen = [start]
        cur = direct[start]
        while cur in direct:
            if cur in seen:
                raise RelcoordError(
                    f"unit successors form a cycle: {' -> '.join(seen + [cur])}",
                    file="units",
                    column="successor",
                    hint="a successor must be a unit that is not itself (eventually) succeeded by the first",
                )
            seen.append(cur)
            cur = direct[cur]
        out[start] = cur
    return out


def apply_successors(df: pd.DataFrame, units: pd.DataFrame | None, cols: Sequence[str]) -> pd.DataFrame:
    """Return a copy of ``df`` with the unit ids in ``cols`` replaced by their
    (final) successor from ``units.successor``.

    A column named ``networks`` is treated as ";"-joined ids (as in
    respondents.networks); mapped ids are de-duplicated keeping order."""
    mapping = successor_map(units)
    out = df.copy()
    if not mapping:
        return out
    for c in cols:
        if c not in out.columns:
            continue
        if c == "networks":
            out[c] = out[c].map(lambda s: _map_id_list(s, mapping))
        else:
            s = out[c]
            if isinstance(s.dtype, pd.CategoricalDtype):
                s = s.astype(object)
            out[c] = s.map(mapping).where(s.isin(list(mapping)), s)
    return out


def _map_id_list(s: Any, mapping: Mapping[str, str]) -> str:
    if is_blank(s):
        return ""
    ids = [mapping.get(x.strip(), x.strip()) for x in str(s).split(";") if x.strip()]
    return ";".join(dict.fromkeys(ids))


def successor_note(units: pd.DataFrame | None, frames: Iterable[pd.DataFrame], cols: Sequence[str]) -> str:
    """One line for a results note: which declared successor mappings the ``frames`` use."""
    mapping = successor_map(units)
    if not mapping:
        return ""
    used = set()
    for f in frames:
        for c in cols:
            if c in f.columns:
                if c == "networks":
                    vals = {x for s in f[c].dropna().astype(str) for x in s.split(";")}
                else:
                    vals = set(pd.unique(f[c].dropna()))
                used |= {u for u in mapping if u in vals}
    if not used:
        return f"unit register: {len(mapping)} successor mapping(s) declared, none present in these rounds"
    pairs = ", ".join(f"{u}->{mapping[u]}" for u in sorted(used))
    return f"unit register: renamed/merged units mapped to successors in both rounds ({pairs})"


def unit_kinds(units: pd.DataFrame | None) -> dict[str, str]:
    """``{unit_id: kind}``; a successor missing from the register takes the kind of the unit it
    succeeds (else "base")."""
    if units is None or len(units) == 0:
        return {}
    kinds = dict(zip(units["unit_id"].astype(str), units["kind"].astype(str)))
    for u, s in successor_map(units).items():
        kinds.setdefault(s, kinds.get(u, "base"))
    return kinds
