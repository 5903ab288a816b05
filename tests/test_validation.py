"""Ingest validation: every rule, the accounting invariant, canonical tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from relcoord.codebook import Codebook, resolve
from relcoord.errors import RelcoordError
from relcoord.instrument import load_instrument
from relcoord.validation import FAILURE_COLUMNS, check_quarantine_ceiling, validate_export

from conftest import ITEM_Q, ROOT, UNITS, MEMBERSHIPS, make_export

INSTRUMENT = load_instrument(ROOT / "config" / "instrument.yaml")
CODEBOOK = Codebook(respondent_id="id", rater_unit="s_1", networks="v_2", items=dict(ITEM_Q), background=("b_1",))
KEY = b"k" * 32


def run(records, **kw):
    export = make_export(records)
    cmap = resolve(export, CODEBOOK, UNITS, INSTRUMENT, "2024")
    return validate_export(export, cmap, INSTRUMENT, UNITS, MEMBERSHIPS, KEY, **kw)


def good(i, unit="1", **extra):
    return {"id": f"R{i:03d}", "unit": unit, **extra}


def rules_at(res, row):
    f = res.failures
    return set(f.loc[f["source_row"] == row, "rule"])


def test_clean_export_builds_canonical_tables():
    res = run([good(i, unit=str(1 + i % 3), cells={"s_3_1": "3"}) for i in range(9)])
    assert res.failures.empty
    assert list(res.failures.columns) == FAILURE_COLUMNS
    r = res.responses
    assert list(r.columns) == ["respondent_id", "rater_unit", "target_unit", "item", "value", "answer"]
    assert len(r) == 9 * 4 * 7
    # code 4 of `frequent` is "too often", scored 4; problem_solving is reversed: code 4 -> score 2
    assert set(r.loc[r["item"] == "frequent", "value"]) == {4.0, 5.0}  # code 3 = "just right" = 5
    assert set(r.loc[r["item"] == "problem_solving", "value"]) == {2.0}
    assert res.summary["records_in"] == 9 and res.summary["valid"] == 9 and res.summary["accounting_ok"]
    assert set(res.respondents.columns) >= {"respondent_id", "rater_unit", "networks", "b_1"}
    # pseudonymised, never the raw id
    assert not set(res.respondents["respondent_id"]) & {f"R{i:03d}" for i in range(9)}
    assert "email" in res.summary["dropped_columns"]


def test_missing_and_dont_know_become_nan_and_spaces_decimals_are_read():
    res = run([good(1, cells={"s_4_1": "6", "s_4_2": "", "s_5_1": " 3 ", "s_5_2": "3,0", "s_5_3": "3.0"})])
    r = res.responses.set_index(["target_unit", "item"])["value"]
    assert np.isnan(r[("HJP", "timely")]) and np.isnan(r[("SUC", "timely")])
    assert r[("HJP", "accurate")] == r[("SUC", "accurate")] == r[("JOB", "accurate")] == 3.0
    assert res.summary["answers"]["dont_know"] == 1 and res.summary["answers"]["blank"] == 1
    a = res.responses.set_index(["target_unit", "item"])["answer"]
    assert a[("HJP", "timely")] == "dont_know" and a[("SUC", "timely")] == "blank" and a[("JOB", "timely")] == "valid"


@pytest.mark.parametrize("record,rule,column", [
    ({"id": "", "unit": "1"}, "missing_respondent_id", "id"),
    ({"id": "X1", "unit": ""}, "missing_rater_unit", "s_1"),
    ({"id": "X1", "unit": "99"}, "unknown_unit", "s_1"),
    ({"id": "X1", "unit": "1", "cells": {"s_4_2": "7"}}, "code_out_of_range", "s_4_2"),
    ({"id": "X1", "unit": "1", "cells": {"s_7_1": "Meget"}}, "not_a_code", "s_7_1"),
    ({"id": "X1", "unit": "1", "cells": {f"{q}_{m}": "" for q in ITEM_Q.values() for m in range(1, 5)}},
     "no_valid_answers", ""),
])
def test_each_quarantine_rule_names_row_and_column(record, rule, column):
    res = run([good(i) for i in range(5)] + [record])
    f = res.failures[res.failures["rule"] == rule]
    assert len(f) == 1, res.failures
    assert f["source_row"].iat[0] == 7 and f["column"].iat[0] == column and f["action"].iat[0] == "quarantined"
    assert f["message"].iat[0]
    assert res.summary["quarantined"] == 1 and res.summary["valid"] == 5
    assert res.respondents["source_row"].max() == 6


def test_duplicate_ids_quarantine_every_copy_and_never_show_the_raw_id():
    res = run([good(1), good(2), {"id": "R001", "unit": "2"}])
    f = res.failures[res.failures["rule"] == "duplicate_respondent_id"]
    assert sorted(f["source_row"]) == [2, 4]
    assert "R001" not in " ".join(f["value"].astype(str)) + " ".join(f["message"])
    assert res.summary["valid"] == 1 and res.summary["quarantined"] == 2


def test_warnings_keep_the_respondent():
    few = {f"{q}_{m}": "" for q in ITEM_Q.values() for m in (2, 3, 4)}
    res = run([good(1), good(2, cells=few), good(3, unit="2", net="1"), good(4, net="x")])
    assert rules_at(res, 2) == {"straightlining"}  # 28 identical answers
    assert "few_targets" in rules_at(res, 3)
    assert "unexpected_network" in rules_at(res, 4)  # SUC is not in N-TI
    assert "invalid_network_flag" in rules_at(res, 5)
    assert set(res.failures["action"]) == {"warned"}
    assert res.summary["valid"] == 4 and res.summary["warned"] == 4
    nets = res.respondents.set_index("source_row")["networks"]
    assert nets[4] == "N-TI" and nets[5] == ""


def test_quarantine_ceiling_stops_with_a_breakdown():
    res = run([good(1), {"id": "", "unit": "1"}, {"id": "Z", "unit": "99"}])
    with pytest.raises(RelcoordError) as e:
        check_quarantine_ceiling(res, 0.2, "dataset.csv")
    assert "2 of 3" in str(e.value) and "unknown_unit" in str(e.value)
    check_quarantine_ceiling(res, 0.7, "dataset.csv")


def test_codebook_naming_a_missing_variable_stops():
    export = make_export([good(1)])
    export.data = export.data.drop(columns=["s_4_2"])
    with pytest.raises(RelcoordError, match="s_4_2"):
        resolve(export, CODEBOOK, UNITS, INSTRUMENT, "2024")


def test_matrix_row_naming_an_unknown_unit_stops():
    export = make_export([good(1)])
    export.structure.loc[export.structure["variableName"] == "s_3_2", "questionText"] = "Q - Ukendt enhed"
    with pytest.raises(RelcoordError, match="Ukendt enhed"):
        resolve(export, CODEBOOK, UNITS, INSTRUMENT, "2024")


def test_aliases_and_case_match_units():
    export = make_export([good(1)])
    export.structure["questionText"] = export.structure["questionText"].str.replace("Jobcenteret", "  JOBCENTRET ")
    cmap = resolve(export, CODEBOOK, UNITS, INSTRUMENT, "2024")
    assert "JOB" in set(cmap.items["target_unit"])


codes = st.sampled_from(["1", "2", "3", "4", "5", "6", "", "7", "x", " 2", "2,0"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C", "", "A"]), st.sampled_from(["1", "2", "3", "", "9"]),
                          st.lists(codes, min_size=3, max_size=3)), min_size=1, max_size=12))
def test_accounting_invariant_holds_for_any_export(recs):
    records = []
    for i, (rid, unit, cells) in enumerate(recs):
        records.append({"id": rid + (str(i) if rid == "C" else ""), "unit": unit,
                        "cells": {"s_3_1": cells[0], "s_6_2": cells[1], "s_9_4": cells[2]}})
    res = run(records)
    s = res.summary
    assert s["records_in"] == s["valid"] + s["quarantined"] == len(records)
    quarantined_rows = set(res.failures.loc[res.failures["action"] == "quarantined", "source_row"])
    assert len(quarantined_rows) == s["quarantined"]
    assert set(res.respondents["source_row"]).isdisjoint(quarantined_rows)
    assert res.responses["value"].dropna().between(1, 5).all()
