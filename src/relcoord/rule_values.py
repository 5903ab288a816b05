"""The values each rule hands its script (``params: values=``), from a :class:`relcoord.config.Settings`.

Settings in, values down: a rule's script gets exactly the values it uses, as one encoded string
(:func:`relcoord.runner.encode_values`); Snakemake reruns a job when they change. These functions
take the study's settings explicitly, so a workflow running many studies at once (the consortium
workflow, workflow/consortium/Snakefile: one Settings per organisation) builds each job's values from
its own organisation's settings. They return the same mappings as the single-study workflow's
``validate_values``/``score_values`` in workflow/rules/common.smk.
"""

from __future__ import annotations

from typing import Any

from .config import Settings

__all__ = ["validate_values", "score_values", "weighting_values"]


def weighting_values(settings: Settings) -> dict[str, Any]:
    """The weighting settings, only with a staff register (without one a rule's params are unchanged)."""
    return {"weighting": {"low_response_ratio": settings.weighting.low_response_ratio}} if settings.staff else {}


def validate_values(settings: Settings, round_id: str) -> dict[str, Any]:
    """The values of rule validate_round (workflow/scripts/validate_round.py) for one round."""
    r, v, p = settings.rounds[round_id], settings.validation, settings.privacy
    return {
        **weighting_values(settings),
        "round": round_id,
        "round_order": list(settings.round_order),
        "format": r.format,
        "reader": dict(r.reader),
        "label": r.label,
        "language": settings.report.language,
        "min_group_size": p.min_group_size,
        "secret_env": p.secret_env,
        "secret_file": p.secret_file,
        "max_quarantined_fraction": v.max_quarantined_fraction,
        "straightlining_min_answers": v.straightlining_min_answers,
        "min_targets_fraction": v.min_targets_fraction,
        "accept_missing_units": list(v.accept_missing_units),
        # which respondent-ties have an RC: the count complement of summary.json (privacy.count_exposure)
        "scoring": {
            "min_items": settings.scoring.min_items,
            "min_communication": settings.scoring.min_communication,
            "min_relationship": settings.scoring.min_relationship,
        },
    }


def score_values(settings: Settings, round_id: str) -> dict[str, Any]:
    """The values of rule score_round (workflow/scripts/score_round.py) for one round."""
    return {
        "round": round_id,
        "round_order": list(settings.round_order),
        "min_group_size": settings.privacy.min_group_size,
        "scoring": settings.scoring.as_values(),
        "seed": settings.seed,
    }
