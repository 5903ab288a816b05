"""SPSS .sav reader: values as SPSS shows them, value labels name units and
"don't know" codes, user-missing values are missing, never a score."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from relcoord.errors import RelcoordError
from relcoord.readers.spss import question_of, read_spss, render_numbers

from relcoord.instrument import load_instrument
from relcoord.writers.surveyxact import option_label

from ingest_helpers import INSTRUMENT as INSTRUMENT_FILE, ITEMS, UNITS, ingest, rules

INSTRUMENT = load_instrument(INSTRUMENT_FILE)

TARGETS = list(UNITS["unit_id"])


def sav(path, n=6, *, user_missing=True, overrides=None):
    """A SurveyXact-style .sav: id, s_1 (unit codes 1-3 labelled), v_2_1 network flag, s_3_1.. items."""
    data = {"id": [f"{1000 + i}" for i in range(n)], "s_1": [float(1 + i % 3) for i in range(n)],
            "v_2_1": [1.0 if i % 3 != 1 else 0.0 for i in range(n)]}
    labels = {"s_1": {1.0: "Hjemmeplejen", 2.0: "Træning og Rehabilitering", 3.0: "Pædagogisk Psykologisk Rådgivning"},
              "v_2_1": {0.0: "Ikke valgt", 1.0: "Valgt"}}
    col_labels = {"id": "Respondent", "s_1": "Enhed", "v_2_1": "Netværk - Netværk for tidlig indsats"}
    missing = {}
    for q in range(len(ITEMS)):
        for m, t in enumerate(TARGETS):
            var = f"s_{3 + q}_{m + 1}"
            data[var] = [4.0] * n
            labels[var] = {**{float(c): option_label(INSTRUMENT.item(ITEMS[q]), c, "da") for c in range(1, 6)},
                           8.0: "Ikke relevant", 9.0: "Ved ikke"}   # the instrument's texts, as exports label them
            col_labels[var] = f"Spørgsmål {q + 1} - {UNITS.set_index('unit_id').loc[t, 'name']}"
            if user_missing and q == 0:
                missing[var] = [{"lo": 7.0, "hi": 7.0}]     # 7 declared missing in SPSS, no label
    data["start"] = [dt.datetime(2025, 3, 1, 10, 0) + dt.timedelta(hours=i) for i in range(n)]
    data["t_1"] = ["", "Fint – æøå", "", "", "", ""][:n] + [""] * max(0, n - 6)
    df = pd.DataFrame(data)
    for (i, var), v in (overrides or {}).items():
        df.loc[i, var] = v
    pyreadstat.write_sav(df, str(path), column_labels=col_labels, variable_value_labels=labels,
                         missing_ranges=missing or None)
    return path


CODEBOOK = {"respondent_id": "id", "rater_unit": "s_1", "networks": "v_2",
            "items": {k: f"s_{3 + q}" for q, k in enumerate(ITEMS)}}


def test_render_numbers():
    assert list(render_numbers(np.array([3.0, np.nan, 2.5, -1.0, 1e20]))) == ["3", "", "2.5", "-1", "1e+20"]
    assert question_of("s_3_1") == "s_3" and question_of("v_2_4") == "v_2" and question_of("Q3_SQ001") == "Q3"
    assert question_of("id") == "id"


def test_values_labels_and_missing(tmp_path):
    r = read_spss(sav(tmp_path / "x.sav", overrides={(0, "s_3_1"): 7.0, (1, "s_4_1"): np.nan}))
    assert r.format == "spss-sav" and list(r.source_row) == [1, 2, 3, 4, 5, 6]
    assert r.data.loc[0, "s_1"] == "1" and r.data.loc[0, "id"] == "1000" and r.data.loc[1, "s_4_1"] == ""
    assert r.data.loc[0, "start"] == "2025-03-01 10:00:00" and r.data.loc[1, "t_1"] == "Fint – æøå"
    assert r.missing_values["s_3_1"] == {"7"}
    lab = r.labels.set_index(["variable", "value"])["label"]
    assert lab[("s_1", "2")] == "Træning og Rehabilitering" and lab[("s_3_1", "9")] == "Ved ikke"
    st = r.structure.set_index("variableName")
    assert st.loc["s_3_2", "questionName"] == "s_3" and st.loc["s_3_2", "questionText"].endswith(
        "Træning og Rehabilitering"
    )


def test_ingest_uses_labels_and_user_missing(tmp_path):
    path = sav(
        tmp_path / "x.sav",
        overrides={
            (0, "s_3_1"): 7.0,
            (0, "s_4_2"): 9.0,
            (0, "s_5_3"): 8.0,
            (2, "s_6_1"): 0.0,
            (3, "s_1"): 4.0,
            (4, "s_7_1"): 6.0,
        },
    )
    res = ingest(tmp_path, "spss", path, CODEBOOK)
    got = rules(res)
    assert got[(3, "code_out_of_range")] == "s_6_1"  # 0: neither a code nor missing
    assert got[(4, "unknown_unit")] == "s_1"
    resp = res.responses.set_index(["respondent_id", "target_unit", "item"])
    rid = res.respondents["respondent_id"].iat[0]
    assert resp.loc[(rid, "HJP", "frequent"), "answer"] == "dont_know"  # 7: SPSS user-missing
    assert resp.loc[(rid, "TRR", "timely"), "answer"] == "dont_know"  # 9: labelled "Ved ikke"
    assert resp.loc[(rid, "PPR", "accurate"), "answer"] == "dont_know"  # 8: labelled "Ikke relevant"
    assert resp.loc[(res.respondents["respondent_id"].iat[2], "HJP", "shared_goals"), "answer"] == "dont_know"  # 6
    assert list(res.respondents["networks"]) == ["N-TI", "", "", "N-TI"]  # cases 1, 2, 5, 6
    assert "start" in res.dropped_columns and "t_1" in res.dropped_columns
    assert res.summary["dropped_columns_count"] == len(res.dropped_columns)


@pytest.mark.parametrize(
    "content, match",
    [
        (b"id;s_1\n1;2\n", "not an SPSS .sav file"),
        (b"PK\x03\x04" + b"\x00" * 30, "zip archive"),
        (b"", "not an SPSS .sav file"),
    ],
)
def test_not_a_sav_stops(tmp_path, content, match):
    p = tmp_path / "export.sav"
    p.write_bytes(content)
    with pytest.raises(RelcoordError, match=match):
        read_spss(p)


def test_truncated_sav_stops_cleanly(tmp_path):
    good = sav(tmp_path / "x.sav")
    raw = good.read_bytes()
    for cut in (8, 200, len(raw) // 2, len(raw) - 5):
        p = tmp_path / f"cut{cut}.sav"
        p.write_bytes(raw[:cut])
        try:
            r = read_spss(p)
        except RelcoordError as e:
            assert str(p) in str(e)
        else:  # a cut inside the last case may still read: every cell is a string
            assert all(isinstance(v, str) for v in r.data.to_numpy().ravel())
