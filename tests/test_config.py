"""Config, unit register and memberships: validation with clear messages."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from relcoord.config import load_config, round_order
from relcoord.errors import RelcoordError
from relcoord.instrument import instrument_from_dict, load_instrument
from relcoord.registry import (load_memberships, load_units, memberships_in_round, shared_network_pairs,
                               shared_networks, units_in_round)

from conftest import ROOT

DEMO = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))


def write_cfg(tmp_path, cfg):
    p = tmp_path / "config.yaml"
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    return p


def test_demo_config_loads_and_fills_defaults():
    cfg = load_config(ROOT / "config" / "config.yaml")
    assert round_order(cfg) == ["2024", "2025", "2026"]
    assert cfg["privacy"]["secret_env"] == "RELCOORD_SECRET"
    assert cfg["scoring"]["min_communication"] == 3
    assert cfg["validation"]["max_quarantined_fraction"] == 0.2
    assert cfg["rounds"]["2025"]["reader"] == {"encoding": "auto", "delimiter": "auto"}


def test_typo_key_is_named(tmp_path):
    cfg = copy.deepcopy(DEMO)
    cfg["scoring"]["min_iterms"] = 5
    with pytest.raises(RelcoordError) as e:
        load_config(write_cfg(tmp_path, cfg))
    assert "min_iterms" in str(e.value) and "min_items" in str(e.value)


def test_wrong_type_is_named(tmp_path):
    cfg = copy.deepcopy(DEMO)
    cfg["privacy"]["min_group_size"] = 2
    with pytest.raises(RelcoordError, match="privacy/min_group_size"):
        load_config(write_cfg(tmp_path, cfg))


def test_comparison_naming_unconfigured_round_is_named(tmp_path):
    cfg = copy.deepcopy(DEMO)
    cfg["comparisons"] = [{"baseline": "2024", "followup": "2030"}]
    with pytest.raises(RelcoordError, match="'2030' is not configured"):
        load_config(write_cfg(tmp_path, cfg))


def test_unquoted_round_ids_work(tmp_path):
    text = (ROOT / "config" / "config.yaml").read_text(encoding="utf-8").replace('"2024":', "2024:")
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    assert "2024" in load_config(p)["rounds"]


def test_units_unknown_kind_names_row_and_column(tmp_path):
    p = tmp_path / "units.tsv"
    p.write_text("unit_id\tname\tkind\tarea\nA\tAlfa\tbase\tX\nB\tBeta\tteam\tX\n", encoding="utf-8")
    with pytest.raises(RelcoordError) as e:
        load_units(p, ["2024"])
    msg = str(e.value)
    assert "row 3" in msg and "'kind'" in msg and "'team'" in msg and str(p) in msg


def test_units_missing_column_and_bad_round(tmp_path):
    p = tmp_path / "units.tsv"
    p.write_text("unit_id\tkind\nA\tbase\n", encoding="utf-8")
    with pytest.raises(RelcoordError, match="name"):
        load_units(p, ["2024"])
    p.write_text("unit_id\tname\tkind\tvalid_from\nA\tAlfa\tbase\t2023\n", encoding="utf-8")
    with pytest.raises(RelcoordError, match="valid_from"):
        load_units(p, ["2024"])


def test_memberships_check_kinds(tmp_path):
    u = tmp_path / "units.tsv"
    u.write_text("unit_id\tname\tkind\nA\tAlfa\tbase\nN\tNet\tnetwork\n", encoding="utf-8")
    units = load_units(u, ["2024", "2025"])
    m = tmp_path / "m.tsv"
    m.write_text("network_id\tunit_id\tfrom_round\tto_round\nA\tN\t\t\n", encoding="utf-8")
    with pytest.raises(RelcoordError, match="kind network"):
        load_memberships(m, units, ["2024", "2025"])
    m.write_text("network_id\tunit_id\tfrom_round\tto_round\nN\tA\t2025\t\n", encoding="utf-8")
    mem = load_memberships(m, units, ["2024", "2025"])
    assert memberships_in_round(mem, "2024", ["2024", "2025"]).empty
    assert len(memberships_in_round(mem, "2025", ["2024", "2025"])) == 1


def test_memberships_in_round_is_one_rule_for_register_compare_and_simulation():
    """One "members of network N in round R" (registry): blank bounds are open, a round id outside
    round_order stops (the register's schema refuses it on load; the simulation placed it by string
    order and the unit register treated it as open before). On the demo the rule gives the pairs
    the simulation planted its network effect on."""
    import json

    from relcoord.simulate import build_organisation

    order = ["2024", "2025"]
    units = load_units(ROOT / "config" / "units.tsv", order)
    mem = load_memberships(ROOT / "config" / "memberships.tsv", units, order)
    truth = json.loads((ROOT / "data" / "raw" / "demo" / "truth.json").read_text(encoding="utf-8"))
    assert sorted(shared_network_pairs(mem, "2025", order, units)) == sorted(map(tuple, truth["shared_directed_pairs"]))
    _, sim_mem = build_organisation(10, 4, tuple(order))
    for rnd in order:
        assert shared_networks(sim_mem, rnd, order) == shared_networks(mem, rnd, order)
    bad = pd.DataFrame({"network_id": ["N"], "unit_id": ["A"], "from_round": ["2023"], "to_round": [""]})
    with pytest.raises(RelcoordError, match="round_order"):
        memberships_in_round(bad, "2024", order)
    open_ = pd.DataFrame({"network_id": ["N"], "unit_id": ["A"], "from_round": [None], "to_round": [" "]})
    assert len(memberships_in_round(open_, "2024", order)) == 1


def test_units_in_round_respects_validity():
    units = pd.DataFrame({"unit_id": ["A", "B", "C"], "name": list("ABC"), "kind": "base", "area": "",
                          "valid_from": ["", "2025", ""], "valid_to": ["", "", "2024"], "successor": ["", "", "A"],
                          "aliases": ""})
    order = ["2024", "2025", "2026"]
    assert list(units_in_round(units, "2024", order)["unit_id"]) == ["A", "C"]
    assert list(units_in_round(units, "2026", order)["unit_id"]) == ["A", "B"]


def test_instrument_config():
    ins = load_instrument(ROOT / "config" / "instrument.yaml")
    assert ins.index_keys == ["frequent", "timely", "accurate", "problem_solving", "shared_goals",
                              "shared_knowledge", "mutual_respect"]
    assert ins.item("frequent").codes == {1: 1, 2: 3, 3: 5, 4: 4, 5: 2}  # RC 2.0 display order
    assert ins.item("problem_solving").codes[1] == 5  # reversed
    with pytest.raises(RelcoordError, match="subscale"):
        instrument_from_dict({"items": [{"key": "x", "codes": {1: 1}, "subscale": "other"}]})
    extra = instrument_from_dict({"items": [{"key": "x", "codes": {1: 1}},
                                            {"key": "capacity", "codes": {1: 1}, "in_index": False}]})
    assert extra.index_keys == ["x"] and extra.keys == ["x", "capacity"]


# --------------------------------------------------------------------------- unit texts must be distinct (issue 11)

@pytest.mark.parametrize("rows, text", [
    (["A\tAlfa\tbase\t", "B\tBeta\tbase\tALFA"], "ALFA"),                        # alias = another unit's name
    (["A\tAlfa\tbase\t", "B\tBeta\tbase\tA"], "'A'"),                            # alias = another unit's id
    (["A\tAlfa Hus\tbase\t", "B\tAlfa\u00a0 hus\u200b\tbase\t"], "Alfa"),        # NBSP, zero-width space
    (["A\tAlfa\tbase\tX|Y", "N\tNet\tnetwork\t\uff38"], "X"),                    # full-width X, across kinds
    (["HJP\tAlfa\tbase\t", "hjp\tBeta\tbase\t"], "hjp"),                         # ids differing in case
])
def test_units_whose_texts_collide_stop_naming_both_rows(tmp_path, rows, text):
    p = tmp_path / "units.tsv"
    p.write_text("unit_id\tname\tkind\taliases\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(RelcoordError) as e:
        load_units(p, ["2024"])
    msg = str(e.value)
    assert "row 2" in msg and "row 3" in msg and text in msg and str(p) in msg and "What to do" in msg


def test_units_in_different_rounds_may_share_a_name(tmp_path):
    p = tmp_path / "units.tsv"
    p.write_text("unit_id\tname\tkind\tvalid_from\tvalid_to\tsuccessor\n"
                 "OLD\tAlfa\tbase\t\t2024\tNEW\nNEW\talfa\tbase\t2025\t\t\n", encoding="utf-8")
    assert list(load_units(p, ["2024", "2025"])["unit_id"]) == ["OLD", "NEW"]
    p.write_text("unit_id\tname\tkind\tvalid_from\tvalid_to\tsuccessor\n"
                 "OLD\tAlfa\tbase\t\t2025\tNEW\nNEW\talfa\tbase\t2025\t\t\n", encoding="utf-8")
    with pytest.raises(RelcoordError, match="row 2.*row 3"):
        load_units(p, ["2024", "2025"])


def test_unit_alias_of_invisible_characters_only_stops(tmp_path):
    p = tmp_path / "units.tsv"
    p.write_text("unit_id\tname\tkind\taliases\nA\tAlfa\tbase\t\u200b\u200c\n", encoding="utf-8")
    with pytest.raises(RelcoordError, match="invisible") as e:
        load_units(p, ["2024"])
    assert e.value.row == 2 and e.value.column == "aliases"


def test_unit_names_per_language_name_the_units_in_reports(tmp_path):
    from relcoord.registry import load_units, units_in_language

    (tmp_path / "units.tsv").write_text(
        "unit_id\tname\tkind\tname_en\nHJP\tHjemmeplejen\tbase\tHome care\nSUC\tSundhedscentret\tbase\t\n",
        encoding="utf-8")
    units = load_units(tmp_path / "units.tsv", ["2024"])
    assert list(units_in_language(units, "en")["name"]) == ["Home care", "Sundhedscentret"]
    assert list(units_in_language(units, "da")["name"]) == ["Hjemmeplejen", "Sundhedscentret"]
    assert list(units["name"]) == ["Hjemmeplejen", "Sundhedscentret"]      # the register itself is unchanged
