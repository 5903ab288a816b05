"""Settings in, values down (relcoord.config): the config is decoded once into
typed, frozen Settings whose defaults come from the config schema only, and
no library function reads a config mapping or restates a setting's default."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from relcoord.config import (Bands, Comparison, Privacy, Report, Scoring, Settings, Validation, load_settings,
                             section, settings_from_config)
from relcoord.errors import RelcoordError
from relcoord.schema import load_schema, read_yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "relcoord"
DEMO = ROOT / "config" / "config.yaml"

#: parameter names that carry a setting (or its config mapping): never given a default in src/
SETTING_PARAMS = {"cfg", "config", "lang", "language", "k", "min_group_size", "min_items", "min_communication",
                  "min_relationship", "networks_as_raters", "bootstrap_reps", "bands", "straightlining_min_answers",
                  "min_targets_fraction", "max_quarantined_fraction", "accept_missing_units", "secret_env",
                  "secret_file"}
#: the config sections: only relcoord.config indexes a mapping by them
SECTIONS = ("privacy", "scoring", "validation")


def _schema_defaults(props: dict) -> dict:
    """key -> default for every key of a schema object that has one (nested objects as dicts)."""
    out = {}
    for key, sub in props.items():
        if "properties" in sub:
            out[key] = _schema_defaults(sub["properties"])
        elif "default" in sub:
            out[key] = sub["default"]
    return out


def _python_files():
    return sorted(SRC.rglob("*.py"))


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _defaults(fn) -> dict[str, ast.expr]:
    a = fn.args
    pos = a.posonlyargs + a.args
    out = dict(zip([x.arg for x in pos][len(pos) - len(a.defaults):], a.defaults))
    out.update({x.arg: d for x, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
    return out


# --------------------------------------------------------------------------- decoding


def test_demo_settings_take_the_schema_default_wherever_the_config_is_silent():
    schema = load_schema("config.schema.yaml")["properties"]
    raw = read_yaml(DEMO)
    s = load_settings(DEMO)
    checked = 0
    for name in ("privacy", "scoring", "validation", "report"):
        given = raw.get(name) or {}
        part = getattr(s, name)
        for key, default in _schema_defaults(schema[name]["properties"]).items():
            if key in given and not isinstance(default, dict):
                continue
            value = getattr(part, key)
            if isinstance(default, dict):         # scoring.bands
                default = {k: v for k, v in default.items() if k not in (given.get(key) or {})}
                value = {k: value[k] for k in default}
            elif isinstance(value, tuple):
                value = list(value)
            assert value == default, f"{name}.{key}"
            checked += 1
    for key in ("units", "memberships", "instrument", "seed"):
        if key not in raw:
            assert getattr(s, key) == schema[key]["default"], key
            checked += 1
    assert checked >= 10                                    # the demo leaves most settings to the schema


def test_settings_are_typed_frozen_and_decoded_without_changing_the_config():
    raw = read_yaml(DEMO)
    before = repr(raw)
    s = settings_from_config(raw)
    assert repr(raw) == before                              # the caller's mapping is not filled in
    assert isinstance(s, Settings) and isinstance(s.privacy, Privacy) and isinstance(s.scoring, Scoring)
    assert isinstance(s.scoring.bands, Bands) and isinstance(s.validation, Validation)
    assert isinstance(s.report, Report) and all(isinstance(c, Comparison) for c in s.comparisons)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.privacy.min_group_size = 2                       # type: ignore[misc]
    with pytest.raises(TypeError):
        s.rounds["x"] = None                               # type: ignore[index]
    assert list(s.round_order) == sorted(s.rounds, key=lambda r: s.rounds[r].date)
    assert [c.id for c in s.comparisons] == [f"{c.baseline}_vs_{c.followup}" for c in s.comparisons]
    assert all(r.label for r in s.rounds.values())


def test_a_setting_given_in_the_config_wins_and_a_bad_one_stops():
    raw = read_yaml(DEMO)
    s = settings_from_config({**raw, "privacy": {"min_group_size": 7}, "scoring": {"bands": {"weak_below": 3.0}}})
    assert s.privacy.min_group_size == 7
    assert dict(s.scoring.bands) == {"weak_below": 3.0,
                                     "strong_above": _schema_defaults(load_schema("config.schema.yaml")["properties"]
                                                                      ["scoring"]["properties"])["bands"]
                                     ["strong_above"]}
    with pytest.raises(RelcoordError, match="privacy/min_group_size"):
        settings_from_config({**raw, "privacy": {"min_group_size": 2}})
    with pytest.raises(RelcoordError, match="weak_below"):
        settings_from_config({**raw, "scoring": {"bands": {"weak_below": 4.5, "strong_above": 4.0}}})


def test_a_section_alone_and_the_scoring_values_round_trip():
    sc = section("scoring", {"ci": "bootstrap"})
    assert sc.ci == "bootstrap" and sc.min_items == load_settings(DEMO).scoring.min_items
    assert Scoring.from_values(sc.as_values()) == sc
    with pytest.raises(RelcoordError, match="scoring/ci"):
        section("scoring", {"ci": "normal"})
    with pytest.raises(KeyError):
        section("rounds")


# --------------------------------------------------------------------------- static: values down, one default


def test_no_function_in_src_reads_a_config_mapping():
    problems = []
    for path in _python_files():
        if path.name in ("config.py", "benchmark_config.py"):   # where the study's config and the consortium's
            continue                                             # benchmark.yaml are decoded
        tree = ast.parse(path.read_text(encoding="utf-8"))
        rel = path.relative_to(ROOT)
        for fn in _functions(tree):
            a = fn.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs:
                if arg.arg in ("cfg", "config"):
                    problems.append(f"{rel}:{fn.lineno} {fn.name}({arg.arg})")
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                    and node.slice.value in SECTIONS:
                problems.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and node.args and isinstance(node.args[0], ast.Constant) \
                    and node.args[0].value in (*SECTIONS, "min_group_size"):
                problems.append(f"{rel}:{node.lineno} {ast.unparse(node)}")
    assert problems == []


def test_the_minimum_group_size_is_not_restated():
    pattern = re.compile(r'min_group_size", 5|get\("min_group_size"')
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in _python_files()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert hits == []
    names = {n.id for p in _python_files() for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(n, ast.Name)}
    assert not names & {"DEFAULT_MIN_GROUP_SIZE", "DEFAULT_K", "DEFAULT_BANDS", "DEFAULT_SCORING"}


def test_no_signature_defaults_a_setting():
    """lang, k and every other setting are given by the caller: their one default is the schema's."""
    found = []
    for path in _python_files():
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            for name, default in _defaults(fn).items():
                if name in SETTING_PARAMS:
                    found.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}({name}={ast.unparse(default)})")
    assert found == []


def test_workflow_scripts_build_no_config_shaped_mapping():
    for path in sorted((ROOT / "workflow" / "scripts").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "snakemake.config" not in text and "sm.config" not in text, path.name
        for key in SECTIONS:
            assert f'"{key}":' not in text and f"'{key}':" not in text, (path.name, key)


def test_compare_refuses_what_privacy_refuses():
    from relcoord import compare as C
    from relcoord.privacy import check_min_group_size

    for k in (1, 2, 2.5, True):
        with pytest.raises(RelcoordError):
            check_min_group_size(k)
        with pytest.raises(RelcoordError):
            C._check_min_group(k)
    assert C._check_min_group(3) == check_min_group_size(3) == 3
