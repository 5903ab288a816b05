"""Stage functions the workflow scripts call: each takes tables, returns tables.
They compose the library's pieces so that a rule's script only reads and writes."""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from .instrument import Instrument
from .privacy import check_min_group_size, reader_facing
from .reliability import agreement_table, reliability_table
from .scores import score_round


def score_and_assess(responses: pd.DataFrame, respondents: pd.DataFrame, units: pd.DataFrame,
                     instrument: Instrument, cfg: Mapping[str, Any]) -> tuple[dict, dict]:
    """Scores, reliability and agreement for one round.

    Returns ``(internal, public)``: ``internal`` holds the unsuppressed tables
    including the respondent-level ``respondent_ties`` and ``respondent_index``
    (for comparisons); ``public`` the reader-facing tables with small groups
    suppressed (ties, units, blocks, edges, organisation, reliability, agreement).
    """
    k = check_min_group_size(cfg["privacy"]["min_group_size"])
    scoring = {**cfg["scoring"], "seed": cfg["seed"]}
    internal = score_round(responses, respondents, units, instrument, scoring, k)
    internal["reliability"] = reliability_table(internal["respondent_ties"], internal["respondent_index"], instrument)
    groups = internal["rater_groups"].drop(columns="rater_unit").rename(columns={"rater_group": "rater_unit"})
    internal["agreement"] = agreement_table(groups, instrument)
    public = reader_facing({k_: v for k_, v in internal.items()}, k)
    return internal, public
