"""The figures' file stems (``results/<round>/figures/<stem>.png|svg``): what the workflow needs to
name the figure outputs when it parses, without importing matplotlib (:mod:`relcoord.figures` draws
them)."""

from __future__ import annotations

__all__ = ["ROUND_FIGURES", "COMPARISON_FIGURES", "TREND_FIGURES"]

ROUND_FIGURES: tuple[str, ...] = ("rc_matrix", "rc_map", "dimension_profile", "item_distributions", "response_overview")
COMPARISON_FIGURES: tuple[str, ...] = ("forest_changes", "tie_dumbbell", "network_effect")
TREND_FIGURES: tuple[str, ...] = ("trend_organisation", "trend_units")
