"""Write one survey round as a Qualtrics CSV export (and the codebook that reads it).

Layout as Qualtrics writes it (as in the R package qualtRics' sample exports):
three header rows -- variable names, question texts (a matrix row is
``"<question> - <unit name>"``), ``{"ImportId":"QID3_1"}`` -- then one row per
respondent; UTF-8 with a byte-order mark, ``,`` between fields, CRLF. The
legacy layout (``legacy=True``) has two header rows (``V1 .. V10`` for the
metadata, then the question names) and starts with a BOM.

Columns: Qualtrics' metadata (dates, status, IP address, recipient names and
e-mail: never carried by relcoord), ``ResponseId``, ``Q1`` base unit, ``Q2``
networks (one column, choices separated by ``,``), ``Q3 .. Q9`` the seven
matrix items with ``Q<k>_<m>`` per target unit, ``Q10`` role, ``Q11`` comment.

``answers="text"`` writes choice texts (the instrument's Danish options,
"Ved ikke" for don't know, unit and network names); ``answers="codes"``
writes recode values (the export codes, 6 for don't know, units and networks
numbered in register order).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ._common import (BACKGROUND_QUESTIONS, DONT_KNOW_CODE, EXPORT_LANG, NETWORK_QUESTION, RATER_QUESTION,
                      RoundCodes, background_categories, code_strings, item_question, round_codes,
                      text_answers)
from ..instrument import Instrument, load_instrument

__all__ = ["write_qualtrics", "qualtrics_codebook"]

_META = [("StartDate", "Start Date", "startDate"), ("EndDate", "End Date", "endDate"),
         ("Status", "Response Type", "status"), ("IPAddress", "IP Address", "ipAddress"),
         ("Progress", "Progress", "progress"), ("Duration (in seconds)", "Duration (in seconds)", "duration"),
         ("Finished", "Finished", "finished"), ("RecordedDate", "Recorded Date", "recordedDate"),
         ("ResponseId", "Response ID", "_recordId"), ("RecipientLastName", "Recipient Last Name", "recipientLastName"),
         ("RecipientFirstName", "Recipient First Name", "recipientFirstName"),
         ("RecipientEmail", "Recipient Email", "recipientEmail"),
         ("ExternalReference", "External Data Reference", "externalDataReference"),
         ("DistributionChannel", "Distribution Channel", "distributionChannel"),
         ("UserLanguage", "User Language", "userLanguage")]
_LEGACY_META = ["ResponseID", "ResponseSet", "Name", "ExternalDataReference", "EmailAddress", "IPAddress", "Status",
                "StartDate", "EndDate", "Finished"]


def qualtrics_codebook(units, instrument, *, answers: str = "text", legacy: bool = False) -> dict:
    """The codebook reading what :func:`write_qualtrics` writes."""
    inst = instrument if isinstance(instrument, Instrument) else load_instrument(instrument)
    base = units.loc[units["kind"] == "base", "unit_id"].tolist()
    nets = units.loc[units["kind"] == "network", "unit_id"].tolist()
    cb: dict = {"respondent_id": "V1" if legacy else "ResponseId"}
    if answers == "text":
        cb["rater_unit"] = "Q1"
        cb["networks"] = {"variable": "Q2", "separator": ","}
    else:
        cb["rater_unit"] = {"variable": "Q1", "codes": {j + 1: u for j, u in enumerate(base)}}
        cb["networks"] = {"variable": "Q2", "separator": ",", "codes": {k + 1: u for k, u in enumerate(nets)}}
    cb["items"] = {key: f"Q{3 + q}" for q, key in enumerate(inst.keys)}
    if answers == "text":
        cb["answers"] = "options"
    cb["background"] = {"Q10": ["Leder", "Medarbejder", "Andet"] if answers == "text" else [1, 2, 3]}
    return cb


def _field(s: str) -> str:
    s = str(s)
    if any(ch in s for ch in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def write_qualtrics(study_round, units, instrument, path, *, answers: str = "text", legacy: bool = False,
                    seed: int = 0) -> dict:
    """Write ``path`` (a .csv file); returns ``{files, codebook, n_records}``."""
    if answers not in ("text", "codes"):
        raise ValueError("answers must be 'text' or 'codes'")
    rc: RoundCodes = round_codes(study_round, units, instrument)
    rng = np.random.default_rng(seed)
    n = len(rc.ids)
    names: list[str] = []
    texts: list[str] = []
    cols: list[np.ndarray] = []

    def add(name: str, text: str, values) -> None:
        names.append(name)
        texts.append(text)
        cols.append(np.asarray(values, dtype=object))

    stamps = np.array([f"2025-03-{1 + d:02d} {8 + h:02d}:{m:02d}:00" for d, h, m in
                       zip(rng.integers(0, 14, n), rng.integers(0, 9, n), rng.integers(0, 60, n))], dtype=object)
    if legacy:
        add("V1", "ResponseID", rc.ids)
        add("V2", "ResponseSet", np.full(n, "Default Response Set", dtype=object))
        add("V3", "Name", np.full(n, "Anonymous", dtype=object))
        add("V4", "ExternalDataReference", np.full(n, "", dtype=object))
        add("V5", "EmailAddress", np.array([f"person{i}@demokommune.example" for i in range(n)], dtype=object))
        add("V6", "IPAddress", np.array([f"192.0.2.{i % 250 + 1}" for i in range(n)], dtype=object))
        add("V7", "Status", np.full(n, "0", dtype=object))
        add("V8", "StartDate", stamps)
        add("V9", "EndDate", stamps)
        add("V10", "Finished", np.full(n, "1", dtype=object))
    else:
        meta = {"StartDate": stamps, "EndDate": stamps, "Status": "0", "IPAddress": None, "Progress": "100",
                "Duration (in seconds)": None, "Finished": "1", "RecordedDate": stamps, "ResponseId": rc.ids,
                "RecipientLastName": "Jensen", "RecipientFirstName": "Anne", "RecipientEmail": None,
                "ExternalReference": "", "DistributionChannel": "email", "UserLanguage": "DA"}
        for name, text, _ in _META:
            v = meta[name]
            if name == "IPAddress":
                v = np.array([f"192.0.2.{i % 250 + 1}" for i in range(n)], dtype=object)
            elif name == "Duration (in seconds)":
                v = rng.integers(120, 900, n).astype(str).astype(object)
            elif name == "RecipientEmail":
                v = np.array([f"person{i}@demokommune.example" for i in range(n)], dtype=object)
            elif isinstance(v, str):
                v = np.full(n, v, dtype=object)
            add(name, text, v)

    base_pos = {u: j + 1 for j, u in enumerate(rc.base_ids)}
    net_pos = {u: k + 1 for k, u in enumerate(rc.net_ids)}
    if answers == "text":
        add("Q1", RATER_QUESTION, np.array([rc.name_of[u] for u in rc.rater], dtype=object))
        add("Q2", NETWORK_QUESTION, np.array([",".join(rc.name_of[x] for x in ns) for ns in rc.networks], dtype=object))
    else:
        add("Q1", RATER_QUESTION, np.array([str(base_pos[u]) for u in rc.rater], dtype=object))
        add("Q2", NETWORK_QUESTION, np.array([",".join(str(net_pos[x]) for x in ns) for ns in rc.networks],
                                             dtype=object))
    for q, key in enumerate(rc.items):
        item = rc.instrument.item(key)
        cube = text_answers(rc, q, EXPORT_LANG) if answers == "text" else code_strings(rc.codes[:, :, q])
        for m, t in enumerate(rc.targets):
            add(f"Q{3 + q}_{m + 1}", f"{item_question(item, EXPORT_LANG)} - {rc.name_of[t]}", cube[:, m])
    role = rc.extra["role"] if "role" in rc.extra.columns else None
    if role is not None:
        cats = background_categories(role, "role")
        if answers == "text":
            add("Q10", BACKGROUND_QUESTIONS["role"], role.fillna("").astype(str).to_numpy(dtype=object))
        else:
            pos = {c: str(j + 1) for j, c in enumerate(cats)}
            add("Q10", BACKGROUND_QUESTIONS["role"], np.array([pos.get(v, "") for v in role.astype(str)], dtype=object))
    else:
        add("Q10", BACKGROUND_QUESTIONS["role"], np.full(n, "", dtype=object))
    add("Q11", "Kommentar", np.where(rng.random(n) < 0.1, "Godt samarbejde, men travlt", "").astype(object))

    header = [names, texts]
    if not legacy:
        ids = []
        for name in names:
            meta_id = {a: c for a, _, c in _META}.get(name)
            ids.append(json.dumps({"ImportId": meta_id or f"QID{name[1:]}"}, separators=(",", ":")))
        header.append(ids)
    lines = [",".join(_field(x) for x in row) for row in header]
    mat = np.column_stack(cols) if cols else np.empty((n, 0), dtype=object)
    lines += [",".join(_field(x) for x in row) for row in mat.tolist()]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write("\r\n".join(lines) + "\r\n")
    return {"files": [str(path)], "codebook": qualtrics_codebook(units, rc.instrument, answers=answers, legacy=legacy),
            "n_records": n, "reader": {}, "dont_know_code": DONT_KNOW_CODE}
