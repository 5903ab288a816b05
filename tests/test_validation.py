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

from conftest import ITEM_Q, ROOT, UNITS, MEMBERSHIPS, make_export, validation_kw

INSTRUMENT = load_instrument(ROOT / "config" / "instrument.yaml")
CODEBOOK = Codebook(respondent_id="id", rater_unit="s_1", networks="v_2", items=dict(ITEM_Q), background=("b_1",),
                    background_values={"b_1": ("1", "2", "3")})
KEY = b"k" * 32


def run(records, **kw):
    export = make_export(records)
    cmap = resolve(export, CODEBOOK, UNITS, INSTRUMENT, "2024")
    return validate_export(export, cmap, INSTRUMENT, UNITS, MEMBERSHIPS, KEY, **validation_kw(**kw))


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
    assert "email" in res.dropped_columns and "dropped_columns" not in res.summary   # names: analyst log only
    assert res.summary["dropped_columns_count"] == len(res.dropped_columns)


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


# --------------------------------------------------------------------------- strict codes and texts (issue 11)

NOT_CODES = ["0_4", "\u0661", "\u0664", "\uff14", "1,000", "4.000", "4e0", "inf", "0x4", "+4", "4.5", "4\u200b"]


@pytest.mark.parametrize("cell", NOT_CODES)
def test_only_plain_integer_codes_are_codes(cell):
    res = run([good(i) for i in range(5)] + [good(9, cells={"s_4_2": cell})])
    f = res.failures[res.failures["action"] == "quarantined"]
    assert set(f["rule"]) == {"not_a_code"} and f["column"].iat[0] == "s_4_2" and f["source_row"].iat[0] == 7
    assert f["value"].iat[0] == cell and res.summary["quarantined"] == 1


@pytest.mark.parametrize("cell", [" 4 ", "4.0", "4,0", "4,00", "04", "\u00a04\u00a0"])
def test_plain_code_spellings_read_as_the_code(cell):
    res = run([good(i) for i in range(5)] + [good(9, cells={"s_4_2": cell})])
    assert set(res.failures["rule"]) <= {"straightlining"}
    r = res.responses.set_index(["respondent_id", "target_unit", "item"])["value"]
    rid = res.respondents.set_index("source_row").loc[7, "respondent_id"]
    assert r[(rid, "SUC", "timely")] == 4.0


def test_negative_integer_is_a_code_out_of_range():
    res = run([good(i) for i in range(5)] + [good(9, cells={"s_4_2": "-1"})])
    assert rules_at(res, 7) == {"code_out_of_range"}


def test_answer_key_and_normalise_code_agree():
    from relcoord.codebook import answer_key, plain_code
    from relcoord.validation import normalise_code
    cells = [" 4,0 ", "04", "-1", *NOT_CODES]
    norm = normalise_code(np.array(cells, dtype=object))
    for cell, n in zip(cells, norm):
        assert (plain_code(cell) is not None) == (n == answer_key(cell) and n.lstrip("-").isdigit() and n.isascii())
    assert answer_key("\uff14") != "4" and answer_key("1,000") != "1" and answer_key("4\u200b") != "4"
    assert answer_key(" 4,0 ") == answer_key("4.0") == "4" and answer_key("Ved Ikke ") == "ved ikke"


def test_normalise_text_folds_unicode_forms_and_invisible_characters():
    from relcoord.codebook import normalise_text
    plain = normalise_text("Hjemmeplejen Nord")
    for variant in ["\ufeffHjemmeplejen\u00a0Nord", "Hjemme\u00adplejen  Nord", "Hjemme\u200bplejen\u200d Nord",
                    "\u200fHJEMMEPLEJEN\tnord\u200e", "\uff28jemmeplejen Nord"]:
        assert normalise_text(variant) == plain, repr(variant)


def test_duplicate_ids_are_compared_after_normalisation():
    from relcoord.pseudonymise import pseudonymise
    recs = [good(i) for i in range(4)] + [{"id": "r001\u200b", "unit": "1"}, {"id": "\uff32001", "unit": "2"}]
    res = run(recs)
    f = res.failures
    assert set(f.loc[f["rule"] == "duplicate_respondent_id", "source_row"]) == {3, 6, 7}
    assert res.summary["quarantined"] == 3
    # pseudonyms of plain ids do not change
    assert set(res.respondents["respondent_id"]) == set(pseudonymise(pd.Series(["R000", "R002", "R003"]), KEY))


def test_id_of_invisible_characters_only_is_missing():
    res = run([good(i) for i in range(5)] + [{"id": "\u200b\u200b", "unit": "1"}])
    assert rules_at(res, 7) == {"missing_respondent_id"}


def test_full_width_network_flag_is_not_membership():
    res = run([good(i) for i in range(5)] + [good(9, net="\uff11")])
    f = res.failures[res.failures["rule"] != "straightlining"]
    assert list(f["rule"]) == ["invalid_network_flag"] and f["source_row"].iat[0] == 7
    assert res.respondents.set_index("source_row").loc[7, "networks"] == ""


# --------------------------------------------------------------------------- a unit that disappears is news (issue 11)

from relcoord.validation import check_missing_units  # noqa: E402

BLANK_ALL = {f"{q}_{m}": "" for q in ITEM_Q.values() for m in range(1, 5)}


def _labelled(records, labels: dict[str, str]):
    """make_export with extra base-unit value labels (code -> label)."""
    export = make_export(records)
    extra = pd.DataFrame([("s_1", c, lab) for c, lab in labels.items()], columns=["variable", "value", "label"])
    export.labels = pd.concat([export.labels, extra], ignore_index=True)
    return export


def _run_export(export, **kw):
    cmap = resolve(export, CODEBOOK, UNITS, INSTRUMENT, "2024")
    res = validate_export(export, cmap, INSTRUMENT, UNITS, MEMBERSHIPS, KEY, **validation_kw(**kw))
    res.summary["round"] = "2024"
    return res


def test_unknown_unit_message_shows_the_label_and_the_aliases_line_that_fixes_it():
    every_unit = [good(i, unit=str(1 + i % 3)) for i in range(6)]
    export = _labelled(every_unit + [good(7, unit="4"), good(8, unit="5"), good(9, unit="99")],
                       {"4": "Hjemmepleje Nord", "5": "Økonomi og Løn"})
    res = _run_export(export, units_file="cfg/units.tsv")
    f = res.failures.set_index("source_row")
    assert (f.loc[[8, 9, 10], "rule"] == "unknown_unit").all()
    close = f.loc[8, "message"]
    assert "'Hjemmepleje Nord'" in close and "closest registered unit is HJP (Hjemmeplejen)" in close
    assert "add 'Hjemmepleje Nord' to the aliases column of HJP in cfg/units.tsv" in close
    far = f.loc[9, "message"]
    assert "'Økonomi og Løn'" in far and "no registered unit is close" in far and "add a unit row" in far
    assert "aliases column of" not in far
    unlabelled = f.loc[10, "message"]
    assert "'99'" in unlabelled and "no value label" in unlabelled and "codes: {99: <unit id>}" in unlabelled
    assert res.summary["missing_units"] == [] and res.summary["records_set_aside"] == 3


def test_resolve_stops_naming_the_aliases_line_for_an_unknown_unit_text():
    book = Codebook(respondent_id="id", rater_unit="s_1", networks="v_2", items=dict(ITEM_Q),
                    rater_codes={"1": "Hjemmepleje Nord", "2": "SUC", "3": "JOB"})
    with pytest.raises(RelcoordError) as e:
        resolve(make_export([good(1)]), book, UNITS, INSTRUMENT, "2024")
    assert "add 'Hjemmepleje Nord' to the aliases column of HJP in config/units.tsv" in str(e.value)
    export = make_export([good(1)])
    export.structure.loc[export.structure["questionName"] == "s_3", "questionText"] = \
        export.structure["questionText"].str.replace("Sundhedscentret", "Sundhedscentret Vest")
    with pytest.raises(RelcoordError) as e:
        resolve(export, CODEBOOK, UNITS, INSTRUMENT, "2024")
    assert str(e.value).count("add 'Sundhedscentret Vest' to the aliases column of SUC") == 1


def test_a_unit_whose_records_were_all_quarantined_stops_the_round_unless_accepted():
    records = [good(i, unit=str(1 + i % 2)) for i in range(6)] + [
        {"id": "D1", "unit": "3"}, {"id": "D1", "unit": "3"}, {"id": "E1", "unit": "3", "cells": BLANK_ALL}]
    res = _run_export(make_export(records))
    s = res.summary
    assert s["missing_units"] == ["JOB"] and s["missing_units_accepted"] == []
    assert s["missing_unit_names"] == {"JOB": "Jobcenteret"} and s["records_set_aside"] == s["quarantined"] == 3
    with pytest.raises(RelcoordError) as e:
        check_missing_units(res, "dataset.csv", "cfg/units.tsv")
    text = str(e.value)
    assert "JOB (Jobcenteret): its 3 record(s) were quarantined (rules: duplicate_respondent_id 2, " \
           "no_valid_answers 1)" in text
    assert "no record from it" not in text and "3 of 9 records were set aside" in text
    assert "accept_missing_units: [JOB]" in text and "What to do" in text and "cfg/units.tsv" in text
    accepted = _run_export(make_export(records), accept_missing_units=["JOB"])
    assert accepted.summary["missing_units"] == accepted.summary["missing_units_accepted"] == ["JOB"]
    check_missing_units(accepted, "dataset.csv")   # accepted: the round goes on


def test_a_renamed_unit_stops_the_round_naming_the_unknown_label():
    export = _labelled([good(i, unit=str(2 + i % 2)) for i in range(6)] + [good(10 + i, unit="4") for i in range(3)],
                       {"4": "Hjemmepleje Nord"})
    res = _run_export(export)
    assert res.summary["missing_units"] == ["HJP"]
    with pytest.raises(RelcoordError) as e:
        check_missing_units(res, "dataset.csv")
    text = str(e.value)
    assert "HJP (Hjemmeplejen): the export has no record from it" in text
    assert "code '4': 'Hjemmepleje Nord', 3 record(s); perhaps HJP (Hjemmeplejen) renamed" in text


def test_ingest_round_stops_on_a_missing_unit_unless_the_config_accepts_it(tmp_path):
    from ingest_helpers import ITEMS, KEY as IKEY, make_config
    from relcoord.config import load_config, settings_from_config
    from relcoord.ingest import ingest_round

    head = ["Respondent", "Enhed"] + [f"q{i + 1}_{t}" for i in range(len(ITEMS)) for t in ("HJP", "TRR", "PPR")]
    rows = [[str(i + 1), unit] + [str(3 + (i + j) % 3) for j in range(len(head) - 2)]
            for i, unit in enumerate(["Hjemmeplejen", "Træning"] * 3)]
    export = tmp_path / "svar.csv"
    export.write_text("\n".join(";".join(r) for r in [head, *rows]) + "\n", encoding="utf-8")
    book = {"respondent_id": "Respondent", "rater_unit": "Enhed",
            "items": {k: {"pattern": f"q{i + 1}_{{target}}"} for i, k in enumerate(ITEMS)}}
    cfg = load_config(make_config(tmp_path, "generic", export, book, accept_missing_units=[]))
    with pytest.raises(RelcoordError) as e:
        ingest_round(settings_from_config(cfg), "2025", key=IKEY)
    assert "PPR (Pædagogisk Psykologisk Rådgivning): the export has no record from it" in str(e.value)
    cfg = load_config(make_config(tmp_path, "generic", export, book, accept_missing_units=["PPR"]))
    res, _ = ingest_round(settings_from_config(cfg), "2025", key=IKEY)
    assert res.summary["missing_units"] == res.summary["missing_units_accepted"] == ["PPR"]
    assert res.summary["records_set_aside"] == 0
    cfg = load_config(make_config(tmp_path, "generic", export, book, accept_missing_units=["XYZ"]))
    with pytest.raises(RelcoordError, match="accept_missing_units names 'XYZ'"):
        ingest_round(settings_from_config(cfg), "2025", key=IKEY)
