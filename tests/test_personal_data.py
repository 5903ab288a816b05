"""No personal data from export text reaches results/ unless the config names it (issue 12).

Attacks: column *names* that are personal data (dropped columns listed in summary.json); e-mails,
phone numbers, CPR and IP addresses typed into mapped cells (copied into failures.csv and the
validation report); contact data in a background field (passed a 50 % check); a background
category small enough to identify."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from relcoord.codebook import Codebook, codebook_from_dict, resolve
from relcoord.errors import RelcoordError
from relcoord.instrument import load_instrument
from relcoord.privacy import (check_background, mask_personal, merge_small_categories, quote_cell,
                              summary_for_readers)
from relcoord.validation import validate_export
from relcoord.validation_report import validation_report_html

from conftest import ITEM_Q, MEMBERSHIPS, ROOT, UNITS, make_export, validation_kw

INSTRUMENT = load_instrument(ROOT / "config" / "instrument.yaml")
KEY = b"k" * 32
CODEBOOK = Codebook(respondent_id="id", rater_unit="s_1", networks="v_2", items=dict(ITEM_Q), background=("b_1",),
                    background_values={"b_1": ("1", "2", "3")})
SECRETS = ["anne@kommune.dk", "Anne.Hansen@demokommune.example", "12345678", "12 34 56 78", "+45 87 65 43 21",
           "010190-1234", "0101901234", "10.20.30.40", "2001:db8::42", "+44 20 7946 0958"]


def good(i, unit="1", **extra):
    return {"id": f"R{i:03d}", "unit": unit, **extra}


def run(records, codebook=CODEBOOK, extra_columns=None, **kw):
    export = make_export(records)
    for name, value in (extra_columns or {}).items():
        export.data[name] = value
    cmap = resolve(export, codebook, UNITS, INSTRUMENT, "2024")
    return validate_export(export, cmap, INSTRUMENT, UNITS, MEMBERSHIPS, KEY, **validation_kw(**kw))


def published(res) -> str:
    """Everything validate_round writes from a result: failures.csv, summary.json, the report."""
    summary = summary_for_readers(res.summary | {"files": []}, 5)
    return "\n".join([res.failures.to_csv(index=False), str(summary),
                      validation_report_html(summary, res.failures, "2024", "en")])


# --------------------------------------------------------------------------- masking

@pytest.mark.parametrize("text,placeholder", [
    ("anne@kommune.dk", "[e-mail]"), ("skriv til a.b+c@x-y.example i dag", "[e-mail]"),
    ("12345678", "[phone]"), ("12 34 56 78", "[phone]"), ("1234 5678", "[phone]"), ("+45 12345678", "[phone]"),
    ("+45 12 34 56 78", "[phone]"), ("0045 12345678", "[phone]"), ("+44 20 7946 0958", "[phone]"),
    ("+1 (555) 123-4567", "[phone]"), ("+49-30-1234567", "[phone]"),
    ("010190-1234", "[CPR]"), ("0101901234", "[CPR]"), ("290288-1234", "[CPR]"),
    ("10.20.30.40", "[IP]"), ("192.168.1.1.", "[IP]"), ("2001:db8::42", "[IP]"), ("::1", "[IP]"),
    ("fe80::1ff:fe23:4567:890a", "[IP]"), ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "[IP]"),
    ("::ffff:192.0.2.1", "[IP]"),
])
def test_mask_personal_replaces_contact_data(text, placeholder):
    out = mask_personal(text)
    assert placeholder in out and "@" not in out
    for secret in ("anne", "12345678", "1234", "10.20", "db8", "0958", "4567"):
        if secret in text:
            assert secret not in out, (text, out)
    assert mask_personal(out) == out                         # idempotent


@pytest.mark.parametrize("text", ["4", "04", "4,0", "-1", "99", "2024", "2024-03-01", "20.03.2024", "1,000", "4.5",
                                  "1-5", "A1", "12:30", "12:30:00", "2024-03-01 12:30:00", "v2.1.0", "1.2.3",
                                  "Meget enig", "s_3_1", "Q3[SQ001]", "config/units.tsv", "a3f09c1e22b4d5e6",
                                  "1234567890abcdef", "320190-1234", "011390-1234", "1 2 3 4 5", "::", ""])
def test_mask_personal_leaves_codes_dates_and_pseudonyms(text):
    assert mask_personal(text) == text


def test_quote_cell_masks_then_caps():
    assert quote_cell(None) == "" and quote_cell(float("nan")) == "" and quote_cell(4) == "4"
    long = "ring på 12345678 " + "x" * 200
    q = quote_cell(long)
    assert q.startswith("ring på [phone]") and q.endswith("…") and len(q) == 61
    assert quote_cell("y" * 60) == "y" * 60


# --------------------------------------------------------------------------- dropped column names

def test_dropped_column_names_are_counted_not_published():
    res = run([good(i) for i in range(6)], extra_columns={"anne@kommune.dk": "x", "10.20.30.40": "", "navn": "Anne"})
    assert {"anne@kommune.dk", "10.20.30.40", "navn", "email"} <= set(res.dropped_columns)   # for the analyst log
    assert "dropped_columns" not in res.summary
    assert res.summary["dropped_columns_count"] == len(res.dropped_columns)
    text = published(res)
    assert "anne@kommune.dk" not in text and "10.20.30.40" not in text and "navn" not in text
    html = validation_report_html(summary_for_readers(res.summary | {"files": []}, 5), res.failures, "2024", "en")
    assert f"{len(res.dropped_columns)} columns of the export are not named in the codebook" in html


def test_summary_for_readers_drops_names_given_by_an_old_summary():
    out = summary_for_readers({"respondents_per_unit": {"A": 9}, "dropped_columns": ["anne@kommune.dk"]}, 5)
    assert out["dropped_columns_count"] == 1 and "anne@" not in str(out)


# --------------------------------------------------------------------------- mapped cells

def test_contact_data_typed_into_mapped_cells_is_masked_in_failures_and_report():
    records = [good(i) for i in range(6)] + [
        good(10, cells={"s_3_1": "anne@kommune.dk"}),                       # not_a_code
        {"id": "R011", "unit": "Anne Hansen 12345678"},                      # unknown_unit (text base unit)
        good(12, cells={"s_4_2": "+45 87 65 43 21"}),
        good(13, cells={"s_5_1": "010190-1234", "s_5_2": "10.20.30.40"}),
        good(14, cells={"s_6_1": "2001:db8::42 " + "lang kommentar " * 20}),
        good(15, cells={"v_2_1": "Anne.Hansen@demokommune.example"}),       # invalid_network_flag (warned)
        good(16, cells={"s_7_1": "0101901234"}),
        good(17, cells={"s_8_1": "+44 20 7946 0958"}),
        good(18, cells={"s_9_1": "12 34 56 78"}),
    ]
    res = run(records)
    f = res.failures
    assert {"not_a_code", "unknown_unit", "invalid_network_flag"} <= set(f["rule"])
    text = published(res)
    for secret in SECRETS:
        assert secret not in text, secret
    for placeholder in ("[e-mail]", "[phone]", "[CPR]", "[IP]"):
        assert placeholder in set().union(*(set(v.split()) for v in f["value"])) or \
            any(placeholder in v for v in f["value"]), placeholder
    assert f["value"].str.len().max() <= 61                                 # a pasted comment is cut
    assert any(v.endswith("…") for v in f["value"])
    unit = f[f["rule"] == "unknown_unit"]
    assert (unit["value"] == "Anne Hansen [phone]").all() and not unit["message"].str.contains("12345678").any()


def test_resolve_stop_messages_mask_export_text():
    # the base-unit column names no unit and has no value labels: the stop quotes its values (masked)
    export = make_export([good(i, unit=u) for i, u in enumerate(["anne@kommune.dk", "12345678", "10.20.30.40"])])
    export.labels = export.labels[export.labels["variable"] != "s_1"]
    with pytest.raises(RelcoordError) as err:
        resolve(export, CODEBOOK, UNITS, INSTRUMENT, "2024")
    text = str(err.value)
    assert "base-unit column" in text and "[e-mail]" in text
    for secret in ("anne@kommune.dk", "12345678", "10.20.30.40"):
        assert secret not in text


# --------------------------------------------------------------------------- background fields

def test_contact_data_in_a_minority_of_background_cells_never_reaches_respondents():
    records = [good(i) for i in range(9)] + [good(20, cells={"b_1": "anne@kommune.dk"})]
    res = run(records)
    assert "anne@kommune.dk" not in set(res.respondents["b_1"])
    assert set(res.respondents["b_1"]) == {"1", ""}
    row = res.failures[res.failures["rule"] == "background_value_not_allowed"]
    assert len(row) == 1 and row["value"].iat[0] == "[e-mail]" and row["action"].iat[0] == "warned"
    assert row["column"].iat[0] == "b_1" and "anne" not in row["message"].iat[0]
    assert "anne@kommune.dk" not in published(res)


def test_check_background_refuses_a_single_contact_cell_and_masks_it():
    df = pd.DataFrame({"b_1": ["1"] * 20 + ["anne@kommune.dk"]})
    with pytest.raises(RelcoordError, match=r"e-mail") as err:
        check_background(df, ["b_1"], "config/codebooks/x.yaml")
    assert "anne@kommune.dk" not in str(err.value) and "[e-mail]" in str(err.value) and err.value.column == "b_1"
    check_background(pd.DataFrame({"b_1": ["1", "2", "", None, "Leder", "2024-03-01"]}), ["b_1"])


def test_background_value_outside_the_list_is_blanked_with_a_warning():
    records = [good(i) for i in range(6)] + [good(7, cells={"b_1": "7"}), good(8, cells={"b_1": " 2,0 "}),
                                              good(9, cells={"b_1": ""})]
    res = run(records)
    b = dict(zip(res.respondents["source_row"], res.respondents["b_1"]))
    assert b[8] == "" and b[9] == "2" and b[10] == "" and b[2] == "1"
    f = res.failures[res.failures["rule"] == "background_value_not_allowed"]
    assert list(f["source_row"]) == [8] and list(f["value"]) == ["7"] and list(f["column"]) == ["b_1"]
    assert res.summary["valid"] == 9 and list(f["action"]) == ["warned"]          # kept, only warned


def test_background_without_allowed_values_stops_asking_for_them():
    bare = dataclasses.replace(CODEBOOK, background_values={})
    with pytest.raises(RelcoordError, match="without its allowed values") as err:
        run([good(i, cells={"b_1": str(1 + i % 2)}) for i in range(4)], codebook=bare)
    assert "b_1: [1, 2]" in str(err.value)                                  # the codes it holds, as a fix
    text = [good(i, cells={"b_1": "anne@kommune.dk" if i else "Leder"}) for i in range(4)]
    with pytest.raises(RelcoordError, match="without its allowed values") as err:
        run(text, codebook=bare)
    assert "anne" not in str(err.value) and "Leder" not in str(err.value.args[0]).split("e.g.")[0]


def test_codebook_background_forms():
    base = {"respondent_id": "id", "rater_unit": "s_1", "items": {"frequent": "s_3"}}
    for spec in ({"b_1": [1, 2, 3], "panel_id": "key"},
                 [{"field": "b_1", "values": [1, 2, 3]}, {"field": "panel_id", "key": True}]):
        cb = codebook_from_dict(base | {"background": spec})
        assert cb.background == ("b_1", "panel_id") and cb.background_values == {"b_1": ("1", "2", "3")}
        assert cb.background_keys == ("panel_id",)
    assert codebook_from_dict(base | {"background": ["b_1"]}).background_values == {}   # stops at resolve
    with pytest.raises(RelcoordError):
        codebook_from_dict(base | {"background": {"b_1": []}})


def test_panel_key_background_field_is_pseudonymised():
    cb = dataclasses.replace(CODEBOOK, background=("b_1", "email"), background_keys=("email",))
    res = run([good(i, cells={"email": f"p{i}@kommune.dk"}) for i in range(6)], codebook=cb)
    keys = set(res.respondents["email"])
    assert len(keys) == 6 and not any("@" in k for k in keys)
    again = run([good(i, cells={"email": f"p{i}@kommune.dk"}) for i in range(6)], codebook=cb)
    assert list(again.respondents["email"]) == list(res.respondents["email"])   # stable across rounds


def test_small_background_category_is_merged_into_other():
    df = pd.DataFrame({"b_1": ["1"] * 10 + ["2"] * 6 + ["3"] * 2 + ["", None]})
    out, merged = merge_small_categories(df, ["b_1"], 5)
    counts = out["b_1"].value_counts().to_dict()
    # 3 (2 respondents) is too small; "other" would then show 2: the next-smallest (2) joins it
    assert counts == {"1": 10, "other": 8, "": 1} and merged == {"b_1": ["2", "3"]}
    assert all(n >= 5 for c, n in counts.items() if c != "")
    out, merged = merge_small_categories(pd.DataFrame({"b_1": ["1"] * 10 + ["2"] * 3 + ["3"] * 2}), ["b_1"], 5)
    assert out["b_1"].value_counts().to_dict() == {"1": 10, "other": 5} and merged == {"b_1": ["2", "3"]}
    out, merged = merge_small_categories(pd.DataFrame({"b_1": ["1"] * 6 + ["2"] * 5}), ["b_1"], 5)
    assert merged == {} and list(out["b_1"]) == ["1"] * 6 + ["2"] * 5
    with pytest.raises(RelcoordError):
        merge_small_categories(df, ["b_1"], 2)


def test_validate_export_merges_small_background_categories_with_k():
    records = ([good(i, unit=str(1 + i % 3)) for i in range(12)] + [good(20 + i, cells={"b_1": "2"}) for i in range(6)]
               + [good(30 + i, cells={"b_1": "3"}) for i in range(2)])
    res = run(records, min_group_size=5)
    assert res.respondents["b_1"].value_counts().to_dict() == {"1": 12, "other": 8}
    assert res.background_merged == {"b_1": ["2", "3"]}
    unmerged = run(records)                                       # k not given: nothing merged
    assert unmerged.respondents["b_1"].value_counts().to_dict() == {"1": 12, "2": 6, "3": 2}
