"""Shared fixtures: a tiny municipality and a hand-made SurveyXact-like export."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pandas as pd
import pytest

from relcoord.readers import RawExport

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("RELCOORD_SECRET", "test-secret-not-for-production-0123456789")

UNITS = pd.DataFrame({
    "unit_id": ["HJP", "SUC", "JOB", "N-TI"],
    "name": ["Hjemmeplejen", "Sundhedscentret", "Jobcenteret", "Netværk for tidlig indsats"],
    "kind": ["base", "base", "base", "network"],
    "area": ["Social og Sundhed", "Social og Sundhed", "Beskæftigelse", ""],
    "valid_from": "", "valid_to": "", "successor": "", "aliases": ["", "", "Jobcentret", ""],
})
MEMBERSHIPS = pd.DataFrame({"network_id": ["N-TI", "N-TI"], "unit_id": ["HJP", "JOB"]})

def scoring(**overrides):
    """Scoring settings: the config schema's defaults, ``overrides`` applied (as in config.yaml)."""
    from relcoord.config import section
    return section("scoring", overrides)


def validation_kw(**overrides) -> dict:
    """validate_export's settings: the schema's defaults (no merging of small
    background categories unless ``min_group_size`` is given), ``overrides`` applied."""
    from relcoord.config import section
    v = section("validation")
    return {"straightlining_min_answers": v.straightlining_min_answers,
            "min_targets_fraction": v.min_targets_fraction, "accept_missing_units": v.accept_missing_units,
            "min_group_size": None, **overrides}


ITEM_Q = {"frequent": "s_3", "timely": "s_4", "accurate": "s_5", "problem_solving": "s_6",
          "shared_goals": "s_7", "shared_knowledge": "s_8", "mutual_respect": "s_9"}


@functools.cache
def _option_text(key: str, code: int) -> str:
    from relcoord.instrument import load_instrument
    from relcoord.writers.surveyxact import option_label
    return option_label(load_instrument(ROOT / "config" / "instrument.yaml").item(key), code, "da")


def make_export(records: list[dict], units: pd.DataFrame = UNITS) -> RawExport:
    """A SurveyXact-like export. Each record: id, unit code (1..3, labels =
    base unit names), net ("0"/"1") and optional per-cell overrides
    {variable: value}; every item cell defaults to "4"."""
    targets = list(units["name"])
    struct, labels = [], []
    base = units[units["kind"] == "base"]
    for code, name in enumerate(base["name"], start=1):
        labels.append(("s_1", str(code), name))
    struct.append(("v_2", "v_2_1", "Closed", "Multiple", "Netværk?", "1", "Netværk for tidlig indsats"))
    cols = ["id", "s_1", "v_2_1"]
    for key, q in ITEM_Q.items():
        for m, name in enumerate(targets, start=1):
            var = f"{q}_{m}"
            cols.append(var)
            struct.append((q, var, "Closed", "Single", f"Spørgsmål om {key} - {name}", "", ""))
            for c in range(1, 6):   # the instrument's option texts (an export's labels are checked against them)
                labels.append((var, str(c), _option_text(key, c)))
            labels.append((var, "6", "Ved ikke"))
    cols += ["email", "b_1"]
    rows = []
    for r in records:
        row = {c: "4" for c in cols}
        row.update({"id": r.get("id", ""), "s_1": r.get("unit", "1"), "v_2_1": r.get("net", "0"),
                    "email": "x@example.org", "b_1": "1"})
        row.update(r.get("cells", {}))
        rows.append(row)
    data = pd.DataFrame(rows, columns=cols).astype(str)
    return RawExport(
        data=data, source_file=pd.Series(["dataset.csv"] * len(data)),
        source_row=pd.Series(range(2, len(data) + 2)),
        structure=pd.DataFrame(struct, columns=["questionName", "variableName", "questionType", "subType",
                                                "questionText", "choiceValue", "choiceText"]),
        labels=pd.DataFrame(labels, columns=["variable", "value", "label"]),
        files=[], format="surveyxact-test")


@pytest.fixture
def units() -> pd.DataFrame:
    return UNITS.copy()


@pytest.fixture
def memberships() -> pd.DataFrame:
    return MEMBERSHIPS.copy()


@pytest.fixture(scope="session")
def workflow_runs(tmp_path_factory):
    """The end-to-end workflow runs, started together (three runs at once keep the two cores busier than
    one after another): the demo twice in two fresh project copies (tests/test_workflow.py, the second
    for byte identity), a study with small units (tests/test_workflow_privacy.py), and the demo set up as a
    study folder by `relcoord init` / `add-round` and run by `relcoord run` (tests/test_study_workflow.py).
    Returns {"demo": [(folder, process), ...], "small": (folder, process),
    "study": (folder, process, checkout files before, after)}."""
    from workflow_helpers import checkout_files, demo_study, project_copy, run_concurrently, small_study, study_run_cmd

    demo = [project_copy(tmp_path_factory.mktemp(f"demo{i}")) for i in range(2)]
    small = small_study(tmp_path_factory.mktemp("small"))
    before = checkout_files()
    study = demo_study(tmp_path_factory.mktemp("study"))
    procs = run_concurrently([*demo, small, study], commands={study: study_run_cmd(study)})
    return {"demo": list(zip(demo, procs[:2])), "small": (small, procs[2]),
            "study": (study, procs[3], before, checkout_files())}
