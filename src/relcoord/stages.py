"""Stage functions the workflow scripts call: each takes tables, returns tables.
They compose the library's pieces so that a rule's script only reads and writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .cfa import cfa_tables, factor_models, invariance_table
from .compare import compare_rounds
from .config import Scoring
from .instrument import Instrument
from .privacy import check_min_group_size, count_exposure, summary_for_readers
from .publish import reader_facing, suppress_changes
from .reliability import agreement_table, reliability_table
from .scores import respondent_ties, score_round
from .weights import weighted_table


def score_and_assess(responses: pd.DataFrame, respondents: pd.DataFrame, units: pd.DataFrame,
                     instrument: Instrument, *, scoring: Scoring, k: int, seed: int) -> tuple[dict, dict]:
    """Scores, reliability and agreement for one round.

    ``scoring``: the scoring settings (:class:`relcoord.config.Scoring`); ``k``:
    privacy.min_group_size; ``seed``: the config's seed (bootstrap intervals).

    Returns ``(internal, public)``: ``internal`` holds the unsuppressed tables
    including the respondent-level ``respondent_ties`` and ``respondent_index``
    (for comparisons); ``public`` the reader-facing tables with small groups
    suppressed (ties, units, blocks, edges, organisation, reliability, agreement).
    """
    k = check_min_group_size(k)
    internal = score_round(responses, respondents, units, instrument, scoring, k=k, seed=seed)
    internal["reliability"] = reliability_table(internal["respondent_ties"], internal["respondent_index"], instrument)
    groups = internal["rater_groups"].drop(columns="rater_unit").rename(columns={"rater_group": "rater_unit"})
    internal["agreement"] = agreement_table(groups, instrument)
    public = reader_facing({k_: v for k_, v in internal.items()}, k, respondents)   # + disclosure audit
    return internal, public


def weighted_figures(internal: Mapping[str, pd.DataFrame], public: Mapping[str, pd.DataFrame],
                     respondents: pd.DataFrame, staff_round: Mapping[str, int], instrument: Instrument, *, k: int,
                     summary: Mapping[str, Any]) -> tuple[pd.DataFrame, dict]:
    """The organisation's and the blocks' figures weighted to the staff (scores/weighted.csv,
    :func:`relcoord.weights.weighted_table`) from a round's scores (``internal``, ``public`` as
    :func:`score_and_assess` returns them) and its published validation ``summary`` (hidden counts)."""
    return weighted_table(internal["respondent_index"], internal["rater_groups"], respondents, staff_round, k=k,
                          organisation=public["organisation"], blocks=public["blocks"], ties=public["ties"],
                          hidden_units=(summary.get("respondents_per_unit_hidden") or {}),
                          measures=["rc", "communication", "relationship", *instrument.keys])


def compare(rt_a: pd.DataFrame, resp_a: pd.DataFrame, rt_b: pd.DataFrame, resp_b: pd.DataFrame,
            units: pd.DataFrame, memberships: pd.DataFrame, *, baseline: str, followup: str,
            round_order: list[str], min_group_size: int, seed: int, panel_key: str | None = None,
            public_a: Mapping[str, pd.DataFrame] | None = None,
            public_b: Mapping[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Changes and models between a comparison's baseline (a) and follow-up (b),
    with the changes table suppressed for readers: a row is hidden, counts
    included, when either round has fewer than min_group_size respondents in
    it or when the round reports (``public_a``/``public_b``: their ties,
    units, blocks, organisation tables) hide that cell."""

    k = check_min_group_size(min_group_size)
    out = compare_rounds({"respondent_ties": rt_a, "respondents": resp_a},
                         {"respondent_ties": rt_b, "respondents": resp_b},
                         units, memberships, round_a=baseline, round_b=followup, round_order=list(round_order),
                         k=k, seed=seed, panel_key=panel_key)
    return {"changes": suppress_changes(out["changes"], k, public_a, public_b), "model": out["model"]}


def measurement(respondent_ties: pd.DataFrame, instrument: Instrument) -> dict[str, pd.DataFrame]:
    """A round's confirmatory factor analyses (relcoord.cfa: one factor, two correlated factors; ML as lavaan),
    with rater-unit-clustered standard errors as a sensitivity: ``{cfa, cfa_loadings}``. Aggregates over every
    respondent-tie with all items answered, so no group size applies."""
    cfa, loadings = cfa_tables(respondent_ties, factor_models(instrument), cluster="rater_unit")
    return {"cfa": cfa, "cfa_loadings": loadings}


def invariance(rt_a: pd.DataFrame, rt_b: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Configural, metric and scalar invariance of the factor models across a comparison's two rounds."""
    return invariance_table(rt_a, rt_b, factor_models(instrument))


PUBLIC_NAMES = ("ties", "units", "blocks", "edges", "organisation", "reliability", "agreement")


def public_tables(paths) -> dict[str, pd.DataFrame]:
    """A round's reader-facing tables from their CSV paths (named by file stem)."""
    from pathlib import Path

    return {Path(p).stem: pd.read_csv(p) for p in paths if Path(p).stem in PUBLIC_NAMES}


def published_summary(summary: Mapping[str, Any], responses: pd.DataFrame, respondents: pd.DataFrame,
                      instrument: Instrument, *, k: int, min_items: int, min_communication: int,
                      min_relationship: int) -> dict:
    """The validation summary as readers may see it: respondents per unit below k show no count, and a
    lone hidden one is paired with the unit whose count its own ties expose least
    (:func:`relcoord.privacy.count_exposure`; the scoring stage's disclosure audit assumes the same
    choice, so both need the same respondent-tie scores)."""
    rt = respondent_ties(responses, instrument, min_items=min_items, min_communication=min_communication,
                         min_relationship=min_relationship)
    exposure = count_exposure(respondents, rt.loc[rt["rc"].notna(), ["respondent_id", "target_unit"]])
    return summary_for_readers(summary, k, exposure)
