"""Trends over three or more rounds: relcoord.trends (trend.csv, model.csv), relcoord.trend_report
(sentences, figures, report) and the workflow's rule trends on a simulated three-round study with a
planted trend."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from relcoord.config import section, settings_from_config
from relcoord.errors import RelcoordError
from relcoord.instrument import default_instrument
from relcoord.registry import apply_successors, load_units, successor_map, units_in_round
from relcoord.schema import read_yaml
from relcoord.scores import respondent_ties
from relcoord.simulate import simulate_study
from relcoord.stages import PUBLIC_NAMES, public_tables, score_and_assess
from relcoord.trend_report import TREND_FIGURES, s_noise, s_trend, trend_findings, trend_report
from relcoord.trends import TREND_COLUMNS, round_points, trend_models, trend_points

ROUNDS = ("2024", "2025", "2026")
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
RELCOORD = str(Path(sys.executable).with_name("relcoord"))
UNIT_LEVELS = ("unit_within", "unit_between", "unit_received", "tie")


# --------------------------------------------------------------------------- a scored study with a merge


@functools.cache
def _scored(seed: int, n: int, k: int, merge: tuple[str, str] | None, n_rounds: int = 2):
    """A simulated study scored round by round (reader-facing tables as the workflow writes them);
    ``merge = (old, new)``: ``old`` merges into ``new`` after the first round (register: successor)."""
    rounds = ROUNDS[:n_rounds]
    study = simulate_study(seed=seed, rounds=rounds, n_respondents=n)
    units = study.units.copy()
    if merge:
        old, new = merge
        units.loc[units["unit_id"] == old, ["valid_to", "successor"]] = [rounds[0], new]
    inst = default_instrument()
    public, rows = {}, {}
    for i, r in enumerate(rounds):
        resp, people = study.rounds[r]
        if merge and i > 0:                                          # after the merge: one unit
            resp = resp[resp["target_unit"] != merge[0]].copy()
            resp.loc[resp["rater_unit"] == merge[0], "rater_unit"] = merge[1]
            people = apply_successors(people, units, ["networks"])
            people.loc[people["rater_unit"] == merge[0], "rater_unit"] = merge[1]
        internal, pub = score_and_assess(resp, people, units_in_round(units, r, list(rounds)), inst,
                                         scoring=section("scoring"), k=k, seed=1)
        public[r] = pub
        rows[r] = (internal["respondent_ties"], people)
    return rounds, units, public, rows


def _key(level: str, r: str, t: str, mapping) -> tuple[str, str]:
    if level not in UNIT_LEVELS:
        return r, t
    return mapping.get(r, r), (mapping.get(t, t) if t else t)


def _parts(level: str, g: str, t: str, pts: pd.DataFrame, members) -> list[tuple[pd.DataFrame, int]]:
    """The published cells a merged point combines, each with its sign (the test's own reading)."""
    def cells(lvl, pairs):
        want = set(pairs)
        sel = pts[(pts["level"] == lvl) & (pts["measure"] == "rc")]
        return sel[[(a, b) in want for a, b in zip(sel["rater_unit"], sel["target_unit"])]]

    mg = members[g]
    if level in ("tie", "unit_within"):
        mt = mg if level == "unit_within" else members.get(t, [t])
        out = [(cells("tie", [(a, b) for a in mg for b in mt]), 1)]
        if level == "unit_within" or g == t:
            out.append((cells("unit_within", [(a, a) for a in mg]), 0))          # must be visible, adds nothing
        return out
    if level == "unit_between":
        return [(cells("unit_between", [(a, "") for a in mg]), 1)]
    return [(cells("unit_received", [(a, "") for a in mg]), 1),
            (cells("tie", [(a, b) for a in mg for b in mg if a != b]), -1)]


def _check_no_disclosure(rounds, units, public, trend, k):
    """Every visible point of trend.csv is a number its round publishes, or (merged units) exactly the
    count-weighted combination of cells its round publishes visibly; whatever a round hides stays hidden.
    So subtracting published cells from a trend point (or points of adjacent rounds, which are other
    respondents) recovers nothing a round report does not already show."""
    mapping = successor_map(units)
    checked_merged = 0
    for r in rounds:
        pts = round_points(public[r], k)
        tr = trend[trend["round"] == r]
        is_unit = pts["level"].isin(UNIT_LEVELS)
        present = (set(pts.loc[is_unit, "rater_unit"]) | set(pts.loc[is_unit, "target_unit"])) - {""}
        members: dict[str, list[str]] = {}
        for u in sorted(present):
            members.setdefault(mapping.get(u, u), []).append(u)
        merged = {m for m, us in members.items() if len(us) > 1}
        pub = {(lv, *_key(lv, a, b, mapping), m): row for lv, a, b, m, row in
               zip(pts["level"], pts["rater_unit"], pts["target_unit"], pts["measure"], pts.to_dict("records"))}
        for row in tr.to_dict("records"):
            lv, a, b, m = row["level"], row["rater_unit"], row["target_unit"], row["measure"]
            if lv in UNIT_LEVELS and ({a, b} & merged):
                assert m == "rc"
                if row["suppressed"]:
                    continue
                parts = _parts(lv, a, b, pts, members)
                for cells, _ in parts:
                    assert cells["visible"].all(), (r, lv, a, b)    # a hidden part would be differenced out
                num = sum(sign * float((c["n"] * c["mean"]).sum()) for c, sign in parts)
                den = sum(sign * float(c["n"].sum()) for c, sign in parts)
                assert row["mean"] == pytest.approx(num / den, abs=1e-9), (r, lv, a, b)
                assert row["n"] >= k
                checked_merged += 1
                continue
            src = pub[(lv, a, b, m)]
            if not src["visible"]:
                assert row["suppressed"] and pd.isna(row["mean"]) and pd.isna(row["n"]), (r, lv, a, b, m)
            elif not row["suppressed"]:
                assert row["mean"] == src["mean"] and row["n"] == src["n"], (r, lv, a, b, m)
        # every published cell reaches trend.csv (under its successor's id) or is folded into a merged point
        keys = set(zip(tr["level"], tr["rater_unit"], tr["target_unit"], tr["measure"]))
        for (lv, a, b, m) in pub:
            assert (lv, a, b, m) in keys or (lv in UNIT_LEVELS and {a, b} & merged), (r, lv, a, b, m)
    return checked_merged


@settings(max_examples=6, deadline=None, derandomize=True, phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), k=st.integers(3, 7),
       merge=st.sampled_from([("YDS", "JOB"), ("BYG", "VOP"), ("STP", "PPR"), ("N-KLIMA", "N-UNGE")]),
       n=st.sampled_from([60, 120]))
def test_no_hidden_value_can_be_recovered_from_trend_and_round_tables(seed, k, merge, n):
    rounds, units, public, rows = _scored(seed, n, k, merge)
    trend = trend_points(rounds, public, units, k=k, respondent_rows=rows)
    assert list(trend.columns) == TREND_COLUMNS
    _check_no_disclosure(rounds, units, public, trend, k)


def test_a_merged_point_is_shown_when_its_parts_are_and_hidden_when_one_is():
    # YDS (about 50 respondents) merges into JOB: the first round's JOB points pool both, as published
    rounds, units, public, rows = _scored(7, 450, 5, ("YDS", "JOB"))
    trend = trend_points(rounds, public, units, k=5, respondent_rows=rows)
    assert _check_no_disclosure(rounds, units, public, trend, 5) > 5
    first = trend[(trend["round"] == "2024") & (trend["rater_unit"] == "JOB")]
    within = first[first["level"] == "unit_within"].iloc[0]
    assert not within["suppressed"]
    rt = rows["2024"][0]
    pool = rt[rt["rater_unit"].isin(["JOB", "YDS"]) & rt["target_unit"].isin(["JOB", "YDS"]) & rt["rc"].notna()]
    assert within["mean"] == pytest.approx(pool["rc"].mean()) and within["n"] == pool["respondent_id"].nunique()
    assert "YDS" not in set(trend["rater_unit"]) | set(trend["target_unit"])
    # without respondent-level rows a merged point cannot be checked: hidden
    blind = trend_points(rounds, public, units, k=5)
    assert blind[(blind["round"] == "2024") & (blind["rater_unit"] == "JOB")]["suppressed"].all()


def test_a_small_unit_merged_into_another_cannot_be_differenced_out():
    # BYG has 3-4 respondents (hidden in every round report): merged into VOP, the first round's VOP
    # within figure minus VOP's own published within figure would reveal BYG's answers: hidden
    rounds, units, public, rows = _scored(3, 450, 5, ("BYG", "VOP"))
    pts = round_points(public["2024"], 5)
    assert not pts[(pts["level"] == "unit_within") & (pts["rater_unit"] == "BYG")]["visible"].any()
    assert pts[(pts["level"] == "unit_within") & (pts["rater_unit"] == "VOP")]["visible"].all()
    trend = trend_points(rounds, public, units, k=5, respondent_rows=rows)
    vop = trend[(trend["round"] == "2024") & (trend["rater_unit"] == "VOP")]
    for level in ("unit_within", "unit_between"):
        assert vop[vop["level"] == level]["suppressed"].all(), level
    assert vop[(vop["level"] == "tie") & (vop["target_unit"] == "VOP")]["suppressed"].all()
    _check_no_disclosure(rounds, units, public, trend, 5)


def test_a_renamed_unit_keeps_its_published_figures_under_its_new_id():
    rounds, units, public, rows = _scored(5, 120, 5, None)
    units = units.copy()
    units.loc[units["unit_id"] == "JOB", "successor"] = "JOBC"
    units = pd.concat([units, units[units["unit_id"] == "JOB"].assign(unit_id="JOBC", successor="")],
                      ignore_index=True)
    trend = trend_points(rounds, public, units, k=5, respondent_rows=rows)
    _check_no_disclosure(rounds, units, public, trend, 5)
    a = trend[(trend["level"] == "unit_within") & (trend["rater_unit"] == "JOBC")].set_index("round")["mean"]
    b = round_points(public["2024"], 5)
    assert a["2024"] == b[(b["level"] == "unit_within") & (b["rater_unit"] == "JOB")]["mean"].iloc[0]


# --------------------------------------------------------------------------- the model recovers a planted trend


@functools.cache
def _model(trend: float, seed: int = 2024):
    study = simulate_study(seed=seed, rounds=ROUNDS, trend=trend)
    sc = section("scoring")
    rows = {r: (respondent_ties(study.rounds[r][0], default_instrument(), sc.min_items, sc.min_communication,
                                sc.min_relationship), study.rounds[r][1]) for r in ROUNDS}
    return study.truth, trend_models(ROUNDS, rows, study.units)


@pytest.mark.parametrize("planted", [0.1, -0.1])
def test_the_trend_model_recovers_the_planted_trend(planted):
    truth, model = _model(planted)
    assert truth["trend_rc_per_round"] == planted
    assert [truth["per_round"][r]["time_effect_rc"] for r in ROUNDS] == pytest.approx([0, planted, 2 * planted])
    lin = model[(model["model"] == "linear") & (model["term"] == "round_linear")].iloc[0]
    assert lin["ci_low"] < planted < lin["ci_high"]
    assert lin["ci_high"] - lin["ci_low"] < 0.1                      # an informative interval
    steps = model[(model["model"] == "steps") & model["term"].str.startswith("step:")]
    assert list(steps["term"]) == ["step:2024:2025", "step:2025:2026"]
    fac = model[model["model"] == "factor"].set_index("term")["estimate"]
    assert steps["estimate"].sum() == pytest.approx(fac["round[2026]"])
    assert {"sd_of_steps", "step_se", "departure_from_line"} <= set(model["term"])
    assert "respondents nested in rounds" in lin["note"]


def test_the_model_needs_three_rounds():
    with pytest.raises(RelcoordError, match="three or more"):
        trend_models(ROUNDS[:2], {}, pd.DataFrame())


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize("lang,up,down,flat", [("en", "rose by", "fell by", "no clear trend"),
                                              ("da", "steg RC-indekset", "faldt RC-indekset",
                                               "ingen klar udvikling")])
def test_trend_sentences_follow_the_sign_of_the_interval(lang, up, down, flat):
    rose = str(s_trend(0.11, 0.09, 0.13, 3, lang))
    fell = str(s_trend(-0.11, -0.13, -0.09, 3, lang))
    none = str(s_trend(0.01, -0.02, 0.04, 3, lang))
    assert up in rose and down not in rose and flat not in rose
    assert down in fell and ("0,11" if lang == "da" else "0.11") in fell
    assert flat in none and up not in none and down not in none
    assert ("+0,01" if lang == "da" else "+0.01") in none
    assert str(s_trend(None, None, None, 3, lang)) != none
    labels = {"2024": "A", "2025": "B", "2026": "C"}
    steps = [("2024", "2025", 0.1), ("2025", "2026", 0.12)]
    big = str(s_noise(0.11, 0.09, 0.13, steps, 0.02, labels, lang))        # slope > 1.96 * 0.02
    small = str(s_noise(0.05, 0.01, 0.09, steps, 0.04, labels, lang))      # clear only over all rounds
    null = str(s_noise(0.01, -0.02, 0.04, steps, 0.04, labels, lang))
    assert len({big, small, null}) == 3 and "A → B" in big
    assert ("0,04" if lang == "da" else "0.04") in big                     # ± 1.96 * 0.02


def test_findings_and_report_in_both_languages():
    truth, model = _model(0.1)
    rounds, units, public, rows = _scored(2024, 120, 5, None, 3)
    trend = trend_points(rounds, public, units, k=5, respondent_rows=rows)
    labels = {"2024": "Before", "2025": "Middle", "2026": "After"}
    for lang, word in (("en", "rose by"), ("da", "steg")):
        found = " ".join(map(str, trend_findings(trend, model, lang=lang, k=5, round_labels=labels, rounds=rounds)))
        assert word in found and "Before" in found
        html = trend_report(trend, model, {}, units, default_instrument(), rounds=rounds, round_labels=labels,
                            lang=lang, k=5, bands={"weak_below": 3.5, "strong_above": 4.0}, title="")
        assert f'<html lang="{lang}">' in html and word in html and "round_linear" in html


# --------------------------------------------------------------------------- configuration


def test_trends_setting_defaults_to_every_round_from_three_on():
    three = read_yaml(ROOT / "config" / "config.yaml")
    assert settings_from_config(three).trends == ROUNDS                      # the demo: three rounds
    two = {**three, "rounds": {r: v for r, v in three["rounds"].items() if r != "2026"},
           "comparisons": [c for c in three["comparisons"] if "2026" not in c.values()]}
    assert settings_from_config(two).trends == ()                            # two rounds: no trend
    assert settings_from_config({**three, "trends": []}).trends == ()
    assert settings_from_config({**three, "trends": ["2026", 2024, "2025"]}).trends == ROUNDS   # date order
    with pytest.raises(RelcoordError, match="three or more"):
        settings_from_config({**three, "trends": ["2024", "2026"]})
    with pytest.raises(RelcoordError, match="'2030' is not configured"):
        settings_from_config({**three, "trends": ["2024", "2025", "2030"]})


# --------------------------------------------------------------------------- the workflow, three rounds


def _env() -> dict[str, str]:
    return {**os.environ, "RELCOORD_SECRET": os.environ.get("RELCOORD_SECRET", "test-secret-0123456789abcdef")}


@pytest.fixture(scope="module")
def three_rounds(workflow_runs):
    """The demo (three rounds, a planted trend of +0.1 RC points per round), run by the workflow
    (conftest.workflow_runs)."""
    work, proc = workflow_runs["demo"][0]
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work


@pytest.mark.slow
def test_workflow_writes_trends_for_three_rounds(three_rounds):
    res = three_rounds / "results" / "trends"
    trend = pd.read_csv(res / "trend.csv", keep_default_na=False, na_values=[""])
    assert list(trend.columns) == TREND_COLUMNS
    assert set(trend["round"].astype(str)) == set(ROUNDS)
    assert set(trend["level"]) == {"organisation", "block", "unit_within", "unit_between", "unit_received", "tie"}
    trend["round"] = trend["round"].astype(str)
    for c in ("rater_unit", "target_unit"):
        trend[c] = trend[c].fillna("").astype(str)
    public = {r: public_tables([three_rounds / f"results/{r}/scores/{n}.csv" for n in PUBLIC_NAMES]) for r in ROUNDS}
    units = load_units(three_rounds / "config/units.tsv", list(ROUNDS))
    _check_no_disclosure(ROUNDS, units, public, trend, 5)          # every point is the round report's number
    truth = json.loads((three_rounds / "data/raw/demo/truth.json").read_text(encoding="utf-8"))
    model = pd.read_csv(res / "model.csv")
    lin = model[(model["model"] == "linear") & (model["term"] == "round_linear")].iloc[0]
    assert lin["ci_low"] < truth["trend_rc_per_round"] == 0.1 < lin["ci_high"]
    html = (res / "report.html").read_text(encoding="utf-8")
    assert "steg RC-indekset" in html and html.count("data:image/png;base64,") == len(TREND_FIGURES)
    for stem in TREND_FIGURES:
        assert (res / "figures" / f"{stem}.png").is_file() and (res / "figures" / f"{stem}.svg").is_file()
    prov = json.loads((three_rounds / "results/provenance.json").read_text(encoding="utf-8"))
    assert "results/trends/trend.csv" in json.dumps(prov)


@pytest.mark.slow
def test_trend_figures_are_byte_identical_on_a_rerun(three_rounds, tmp_path):
    from relcoord.trend_report import trend_figures

    res = three_rounds / "results" / "trends"
    trend = pd.read_csv(res / "trend.csv", keep_default_na=False, na_values=[""])
    trend["round"] = trend["round"].astype(str)
    units = load_units(three_rounds / "config/units.tsv", list(ROUNDS))
    outs = [tmp_path / f"{s}.{e}" for s in TREND_FIGURES for e in ("png", "svg")]
    trend_figures(trend, units, outs, rounds=ROUNDS, round_labels={"2024": "Før 2024", "2025": "Efter 2025",
                                                                    "2026": "Opfølgning 2026"},
                  lang="da", bands={"weak_below": 3.5, "strong_above": 4.0})
    for p in outs:
        assert p.read_bytes() == (res / "figures" / p.name).read_bytes(), p.name


@pytest.mark.slow
def test_two_rounds_plan_no_trend_jobs(tmp_path):
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "data/raw/demo", tmp_path / "data/raw/demo")
    cfg = yaml.safe_load((tmp_path / "config/config.yaml").read_text(encoding="utf-8"))
    del cfg["rounds"]["2026"]
    cfg["comparisons"] = [c for c in cfg["comparisons"] if "2026" not in c.values()]
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    staff = tmp_path / "config/staff.tsv"
    staff.write_text("".join(line for line in staff.read_text(encoding="utf-8").splitlines(keepends=True)
                             if "\t2026\t" not in line), encoding="utf-8")
    proc = subprocess.run([SNAKEMAKE, "-n", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path)],
                          capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rule compare_rounds" in proc.stdout + proc.stderr
    assert "rule trends" not in proc.stdout + proc.stderr

