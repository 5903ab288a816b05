"""Null and coverage calibration of the before/after comparison on simulated studies.

Benchmark tooling (``python -m relcoord.bench --calibration``): studies from
:func:`relcoord.simulate.simulate_study`, scored by
:func:`relcoord.scores.respondent_ties`, compared by
:func:`relcoord.compare.unpaired_changes` and :func:`relcoord.compare.mixed_models`.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd

from .compare import mixed_models, unpaired_changes
from .config import section
from .instrument import default_instrument
from .registry import unit_kinds
from .scores import respondent_ties
from .simulate import simulate_study

__all__ = ["simulated_study", "calibration"]


def simulated_study(seed: int, **kw) -> SimpleNamespace:
    """A simulated study (relcoord.simulate) with its rounds as
    (respondent_ties, respondents), scored by relcoord.scores."""
    st = simulate_study(seed, **kw)
    inst = default_instrument()
    sc = section("scoring")       # the schema's defaults
    rounds = {str(rid): (respondent_ties(responses, inst, sc.min_items, sc.min_communication, sc.min_relationship),
                         respondents)
              for rid, (responses, respondents) in st.rounds.items()}
    return SimpleNamespace(units=st.units, memberships=st.memberships, rounds=rounds, truth=st.truth,
                           round_order=list(rounds))


def calibration(n_reps: int = 100, seed: int = 0, n_respondents: int = 450, network_effect: float = 0.30,
                *, min_group_size: int, engine: str = "reml") -> dict:
    """Null and coverage calibration over ``n_reps`` simulated study pairs.

    Studies come from :func:`relcoord.simulate.simulate_study` (scored by
    :func:`relcoord.scores.respondent_ties`).

    Null (network_effect = 0, drift = 0): among unsuppressed tie rows (measure
    rc), the fraction with p_fdr < .05 and the fraction of replicates with
    any, for all ties and for base → base ties between different units. Only
    the latter are a true null: network memberships still change between the
    simulated rounds, which changes who rates *as* a network and who rates
    their *own* network (own_network_bonus), so some network ties really do
    change. Also the rejection rate (p < .05) of ``round`` and
    ``round_respondent``. Effect (``network_effect``, drift 0.05): coverage of
    the planted ``truth["network_effect_rc"]`` by the 95 % CI of
    ``network_did`` and ``network_did_respondent``, and their mean estimate."""
    ss = np.random.SeedSequence(seed)
    seeds = [int(s.generate_state(1)[0]) for s in ss.spawn(n_reps)]
    frac_sig, any_sig, frac_bb, any_bb, rej_round, rej_round_resp = [], [], [], [], [], []
    cover, cover_resp, est, est_resp, truths = [], [], [], [], []
    t0 = time.perf_counter()
    for s in seeds:
        st = simulated_study(s, n_respondents=n_respondents, network_effect=0.0, drift=0.0)
        ra, rb = st.round_order[0], st.round_order[-1]
        (rt_a, resp_a), (rt_b, resp_b) = st.rounds[ra], st.rounds[rb]
        ch = unpaired_changes(rt_a, rt_b, resp_a, resp_b, st.units, ["rc"], min_group_size=min_group_size,
                              levels=["tie"])
        kinds = unit_kinds(st.units)
        ok = ~ch["suppressed"].to_numpy(bool)
        sig = (ch["p_fdr"] < 0.05).to_numpy()
        bb = ok & (ch["rater_unit"].map(kinds) == "base").to_numpy() & (
            ch["target_unit"].map(kinds) == "base").to_numpy() & (ch["rater_unit"] != ch["target_unit"]).to_numpy()
        frac_sig.append(float(sig[ok].mean()) if ok.any() else np.nan)
        any_sig.append(bool(sig[ok].any()))
        frac_bb.append(float(sig[bb].mean()) if bb.any() else np.nan)
        any_bb.append(bool(sig[bb].any()))
        mm = mixed_models(rt_a, rt_b, st.units, st.memberships, ra, rb, st.round_order, engine=engine)
        rej_round.append(_term(mm, "round", "round")["p"] < 0.05)
        rej_round_resp.append(_term(mm, "round_respondent", "round")["p"] < 0.05)

        st = simulated_study(s + 1, n_respondents=n_respondents, network_effect=network_effect, drift=0.05)
        ra, rb = st.round_order[0], st.round_order[-1]
        (rt_a, resp_a), (rt_b, resp_b) = st.rounds[ra], st.rounds[rb]
        truth = float(st.truth["network_effect_rc"])
        mm = mixed_models(rt_a, rt_b, st.units, st.memberships, ra, rb, st.round_order, engine=engine)
        for mod, cv, es in (("network_did", cover, est), ("network_did_respondent", cover_resp, est_resp)):
            r = _term(mm, mod, "round:shares_network")
            cv.append(bool(r["ci_low"] <= truth <= r["ci_high"]))
            es.append(float(r["estimate"]))
        truths.append(truth)
    return {
        "n_reps": n_reps, "seed": seed, "n_respondents": n_respondents,
        "null_tie_fraction_p_fdr_lt_05": float(np.nanmean(frac_sig)),
        "null_any_tie_p_fdr_lt_05": float(np.mean(any_sig)),
        "null_base_tie_fraction_p_fdr_lt_05": float(np.nanmean(frac_bb)),
        "null_any_base_tie_p_fdr_lt_05": float(np.mean(any_bb)),
        "null_round_rejection_rate": float(np.mean(rej_round)),
        "null_round_respondent_rejection_rate": float(np.mean(rej_round_resp)),
        "network_effect": float(np.mean(truths)),
        "network_did_coverage": float(np.mean(cover)),
        "network_did_mean_estimate": float(np.mean(est)),
        "network_did_respondent_coverage": float(np.mean(cover_resp)),
        "network_did_respondent_mean_estimate": float(np.mean(est_resp)),
        "seconds": time.perf_counter() - t0,
    }


def _term(mm: pd.DataFrame, model: str, term: str) -> pd.Series:
    r = mm[(mm["model"] == model) & (mm["term"] == term)]
    if len(r) == 0:
        return pd.Series({"estimate": np.nan, "se": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p": np.nan})
    return r.iloc[0]
