"""A simulated consortium: many organisations, each a complete relcoord study, and its benchmark.yaml.

``relcoord simulate --consortium N --respondents M --out DIR [--seed S] [--rounds ID ...]`` writes

- ``DIR/orgs/org001/`` ... ``DIR/orgs/orgNNN/``: each a study folder (config/config.yaml, units.tsv,
  memberships.tsv, staff.tsv, instrument.yaml, codebooks/demo.yaml; data/raw/<round>/ the exports;
  data/raw/truth.json the planted parameters), made with :func:`relcoord.simulate.make_demo`;
- ``DIR/benchmark.yaml``: the organisations, ``min_organisations: 5``, ``period: year``.

Organisations differ, deterministically from the seed (``numpy.random.SeedSequence(seed)``, one
child sequence per organisation): respondents per round drawn uniformly within +-50 % of M, 6-30
base units (at most one per 25 respondents, so that small simulated organisations keep units large
enough to publish), 2-6 networks, and organisation-level effects on the latent scale: the grand
mean (sd 0.15), the within-unit bonus (sd 0.10), the spread of units' reputations, the network effect;
one in five organisations reports in English.

Exports are SurveyXact CSV trios (``dataset.csv``, ``structure.csv``, ``labels.csv``; ``;``, Latin-1),
the format Danish municipalities get and the cheapest to store and read at scale: one wide row per
respondent (about 3 MB for 5,000 respondents and 30 units, against 46 MB for the long canonical
tables).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import yaml

from .errors import RelcoordError
from .simulate import make_demo

__all__ = ["organisation_plan", "make_consortium", "BENCHMARK_FILE"]

BENCHMARK_FILE = "benchmark.yaml"


def _date(round_id: str, k: int) -> str:
    return f"{round_id}-03-01" if round_id.isdigit() and len(round_id) == 4 else f"{2024 + k}-03-01"


def organisation_plan(n_organisations: int, respondents: int, seed: int = 2024) -> list[dict]:
    """Each organisation's id, size, structure, effects and seed (deterministic from ``seed``)."""
    if n_organisations < 1:
        raise RelcoordError("--consortium needs at least one organisation")
    if respondents < 100:
        raise RelcoordError(f"--respondents {respondents} is too small for a consortium member (use >= 100)")
    width = max(3, len(str(n_organisations)))
    plan = []
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n_organisations)):
        rng = np.random.default_rng(child)
        n = int(rng.integers(int(respondents * 0.5), int(respondents * 1.5) + 1))
        base = int(min(rng.integers(6, 31), max(2, n // 25)))
        plan.append({
            "id": f"org{i + 1:0{width}d}",
            "seed": int(child.generate_state(1)[0] % 2**31),
            "respondents": n,
            "base_units": base,
            "networks": int(rng.integers(2, 7)),
            "language": "en" if rng.random() < 0.2 else "da",
            "effects": {
                "grand_mean": round(float(3.55 + rng.normal(0.0, 0.15)), 4),
                "within_unit_bonus": round(float(0.50 + rng.normal(0.0, 0.10)), 4),
                "reputation_sd": round(float(rng.uniform(0.15, 0.35)), 4),
            },
            "network_effect": round(float(rng.uniform(0.0, 0.5)), 4),
        })
    return plan


def _config(org: dict, rounds: tuple[str, ...]) -> dict:
    return {
        "units": "config/units.tsv",
        "memberships": "config/memberships.tsv",
        "instrument": "config/instrument.yaml",
        "rounds": {rid: {"date": _date(rid, k), "format": "surveyxact", "export": f"data/raw/{rid}",
                         "codebook": "config/codebooks/demo.yaml", "reader": {"encoding": "latin-1",
                                                                               "delimiter": ";"}}
                   for k, rid in enumerate(rounds)},
        "comparisons": [{"baseline": a, "followup": b} for a, b in zip(rounds, rounds[1:])],
        "trends": [],
        "privacy": {"min_group_size": 5},
        "report": {"language": org["language"], "title": f"Organisation {org['id'][3:]}"},
        "seed": org["seed"],
    }


def make_consortium(out: str | Path, n_organisations: int, respondents: int, *, seed: int = 2024,
                    rounds: tuple[str, ...] = ("2025",), force: bool = False, min_organisations: int = 5,
                    period: str = "year") -> dict:
    """Write a simulated consortium to ``out`` (see the module docstring); returns
    ``{"benchmark": path, "organisations": plan}``. Nothing is written when ``out/benchmark.yaml`` or
    an organisation's folder exists, unless ``force``."""
    out = Path(out)
    rounds = tuple(str(r) for r in rounds)
    plan = organisation_plan(n_organisations, respondents, seed)
    existing = [p for p in [out / BENCHMARK_FILE, *(out / "orgs" / o["id"] for o in plan)] if p.exists()]
    if existing and not force:
        raise RelcoordError(f"simulate --consortium would replace {len(existing)} existing file(s) or folder(s) "
                            f"in {out} and has written nothing (first: {existing[0]})",
                            hint="rerun with --force, or choose another --out")
    here = Path(__file__).resolve().parents[2]
    for org in plan:
        study = out / "orgs" / org["id"]
        if study.exists():
            shutil.rmtree(study)
        cfg_dir = study / "config"
        (cfg_dir / "codebooks").mkdir(parents=True)
        shutil.copyfile(here / "config" / "instrument.yaml", cfg_dir / "instrument.yaml")
        shutil.copyfile(here / "config" / "codebooks" / "demo.yaml", cfg_dir / "codebooks" / "demo.yaml")
        make_demo(study / "data" / "raw", cfg_dir, org["seed"], n_respondents=org["respondents"],
                  n_base_units=org["base_units"], n_networks=org["networks"], fmt="csv", rounds=rounds,
                  trend=None, network_effect=org["network_effect"], **org["effects"])
        (cfg_dir / "config.yaml").write_text(
            f"# Simulated consortium member {org['id']} (relcoord simulate --consortium, seed {seed}).\n"
            "# Every key is documented in the relcoord checkout's config/README.md.\n"
            + yaml.safe_dump(_config(org, rounds), allow_unicode=True, sort_keys=False), encoding="utf-8")
    bench = {"organisations": {o["id"]: f"orgs/{o['id']}" for o in plan}, "min_organisations": min_organisations,
             "period": period}
    (out / BENCHMARK_FILE).write_text(
        f"# A simulated consortium of {n_organisations} organisations (relcoord simulate --consortium, seed {seed}).\n"
        "# Run its benchmark: snakemake -s <relcoord checkout>/workflow/consortium/Snakefile --directory "
        f"{out} --cores 2\n# Keys: config/README.md (A benchmark across organisations).\n"
        + yaml.safe_dump(bench, sort_keys=False), encoding="utf-8")
    return {"benchmark": out / BENCHMARK_FILE, "organisations": plan}


def run_consortium(args, *, default_out: str, default_rounds: list[str]) -> int:
    """``relcoord simulate --consortium N --respondents M --out DIR [--seed S] [--rounds ID ...] [--force]``."""
    if args.out == default_out:
        raise RelcoordError("--consortium needs --out: the folder the consortium is written to",
                            hint="e.g. relcoord simulate --consortium 20 --respondents 5000 --out ../consortium")
    rounds = ("2025",) if list(args.rounds) == list(default_rounds) else tuple(args.rounds)
    res = make_consortium(args.out, args.consortium, args.respondents, seed=args.seed, rounds=rounds,
                          force=args.force)
    sizes = [o["respondents"] for o in res["organisations"]]
    print(f"wrote a consortium of {len(sizes)} organisations (seed {args.seed}, round{'s' if len(rounds) > 1 else ''} "
          f"{', '.join(rounds)}; {min(sizes)}-{max(sizes)} respondents per round, {sum(sizes)} in all) to {args.out}")
    print(f"benchmark: {res['benchmark']}; run it with")
    print(f"  snakemake -s <relcoord checkout>/workflow/consortium/Snakefile --directory {args.out} --cores 2")
    return 0
