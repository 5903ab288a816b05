"""Synthetic relational-coordination studies with planted, known effects.

:func:`simulate_study` draws a fictional Danish municipality (base units in
areas, cross-cutting networks, memberships that change between rounds) and
respondent-level answers from an ordinal latent model; :func:`make_demo`
writes the demo data set (SurveyXact exports, unit register, memberships, a staff register and a
``truth.json`` with the planted parameters) that the workflow runs on.

The latent model, per respondent r (base unit u, networks N_r), target t and
item i in round k (k = 0 baseline, 1 follow-up, ...)::

    eta = grand_mean + leniency[r] + role_effect[role_r] + rater_unit[u]
          + reputation[t] + within_unit_bonus * (t == u)
          + own_network_bonus * (t in N_r) + same_area_bonus * (area u == area t, t != u)
          + item_offset[i] + drift * k + network_effect * shares_k(u, t)
    y*  = eta + noise,  noise ~ N(0, noise_sd)
    score = 1 + #{thresholds c : y* > c}                      (1..5)

``shares_k(u, t)`` is exactly the analysis' ``shares_network``: u and t are two
*different* base units that are both members of a common network in round k,
and k > 0 (the baseline is never treated; with two rounds this is the
difference in differences "follow-up x shares a network in the follow-up").
After scoring, cells go missing (blank) and "don't know" (code 6 in exports) at
the requested rates, completely at random; both are NaN in the canonical table.

Because the 1..5 scale is a nonlinear cut of the latent scale, the truth also
carries the planted effects on the observed RC scale (the mean of the item
scores), computed exactly from the ordinal model for the respondent-ties that
were actually simulated: ``network_effect_rc`` is the mean, over the follow-up
respondent-ties between base units sharing a network, of E[RC | eta] -
E[RC | eta without the network term]; ``drift_rc`` likewise for the drift term
over all follow-up respondent-ties.

A planted linear trend (``simulate_study(..., trend=0.1)``, ``relcoord simulate
--trend 0.1``, meant for three or more rounds) replaces the drift: in round k a
latent shift s_k (solved numerically, s_0 = 0) is added to every eta so that the
expected RC of round k's respondent-ties, averaged over all of them, lies exactly
``trend * k`` above the same respondents' expected RC without any time-varying
term (shift and network effect). So the whole planted change over time, the
network effect included, is linear on the RC scale with slope ``trend`` per
round; ``truth.json`` records it as ``trend_rc_per_round`` (and each s_k).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import brentq
from scipy.special import ndtr

from .config import section
from .errors import RelcoordError
from .instrument import Instrument, default_instrument, load_instrument
from .registry import memberships_in_round, shared_networks
from .writers import FORMATS, write_round
from .writers.surveyxact import LAYOUTS, read_codebook, write_surveyxact

# ---------------------------------------------------------------------------
# the fictional municipality
# ---------------------------------------------------------------------------

#: (unit_id, name, area). The first ten are the demo municipality; more are
#: taken in order when a study asks for more base units.
BASE_UNIT_POOL: tuple[tuple[str, str, str], ...] = (
    ("HJP", "Hjemmeplejen", "Social og Sundhed"),
    ("SUC", "Sundhedscentret", "Social og Sundhed"),
    ("TRR", "Træning og Rehabilitering", "Social og Sundhed"),
    ("DTN", "Dagtilbud Nord", "Børn og Unge"),
    ("PPR", "Pædagogisk Psykologisk Rådgivning", "Børn og Unge"),
    ("STP", "Skoletandplejen", "Børn og Unge"),
    ("JOB", "Jobcenteret", "Beskæftigelse"),
    ("YDS", "Ydelsesservice", "Beskæftigelse"),
    ("VOP", "Vej og Park", "By og Miljø"),
    ("BYG", "Byggesager", "By og Miljø"),
    ("SYP", "Sygeplejen", "Social og Sundhed"),
    ("FAM", "Familieafdelingen", "Børn og Unge"),
    ("UNG", "Ungeindsatsen", "Beskæftigelse"),
    ("MIL", "Miljø og Natur", "By og Miljø"),
    ("PSY", "Socialpsykiatrien", "Social og Sundhed"),
    ("DTS", "Dagtilbud Syd", "Børn og Unge"),
    ("VIR", "Virksomhedsservice", "Beskæftigelse"),
    ("PLU", "Plan og Udvikling", "By og Miljø"),
    ("PLC", "Plejecenter Søndergården", "Social og Sundhed"),
    ("SPL", "Sundhedsplejen", "Børn og Unge"),
    ("INT", "Integration og Sprog", "Beskæftigelse"),
    ("AFG", "Affald og Genbrug", "By og Miljø"),
    ("BIB", "Biblioteket", "Kultur og Fritid"),
    ("KUL", "Kulturhuset Kæret", "Kultur og Fritid"),
    ("FRI", "Fritid og Idræt", "Kultur og Fritid"),
    ("MSB", "Myndighed Sundhed og Bolig", "Social og Sundhed"),
    ("SKO", "Skoleafdelingen", "Børn og Unge"),
    ("OKO", "Økonomi og Løn", "Stab og Digitalisering"),
    ("HRP", "Personale og HR", "Stab og Digitalisering"),
    ("DIG", "Digitalisering og IT", "Stab og Digitalisering"),
)

#: (network_id, name)
NETWORK_POOL: tuple[tuple[str, str], ...] = (
    ("N-TIDLIG", "Netværk for tidlig indsats"),
    ("N-BORGER", "Sammenhængende borgerforløb"),
    ("N-UNGE", "Unge på vej til uddannelse og job"),
    ("N-KLIMA", "Grøn omstilling og klimatilpasning"),
    ("N-DEMENS", "Demensvenlig kommune"),
    ("N-SPROG", "Sprog og trivsel i dagtilbud"),
    ("N-VELF", "Velfærdsteknologi i hverdagen"),
    ("N-FAELLES", "Fællesskaber for alle"),
)

#: the demo's memberships: (network, unit, first round index, last round index)
#: (None = open). Index 1 = joins in the follow-up round; last 0 = leaves after
#: the baseline.
CURATED_MEMBERSHIPS: tuple[tuple[str, str, int, int | None], ...] = (
    ("N-TIDLIG", "DTN", 0, None),
    ("N-TIDLIG", "PPR", 0, None),
    ("N-TIDLIG", "SUC", 1, None),
    ("N-TIDLIG", "STP", 1, None),
    ("N-BORGER", "HJP", 0, None),
    ("N-BORGER", "TRR", 0, None),
    ("N-BORGER", "SUC", 1, None),
    ("N-BORGER", "JOB", 1, None),
    ("N-UNGE", "JOB", 0, None),
    ("N-UNGE", "PPR", 0, None),
    ("N-UNGE", "YDS", 1, None),
    ("N-KLIMA", "VOP", 0, None),
    ("N-KLIMA", "BYG", 0, None),
    ("N-KLIMA", "HJP", 0, 0),
)

#: a spelling variant used in one export (exercises alias matching)
ALIASES: dict[str, str] = {"PPR": "Pædagogisk-psykologisk rådgivning (PPR)"}

#: the unit kept tiny (3-4 respondents) so privacy suppression shows
SMALL_UNIT = "BYG"

ROLES = ("Leder", "Medarbejder", "Andet")
ROLE_PROBS = (0.09, 0.86, 0.05)

#: latent-scale item offsets (relationship items a bit higher, frequent lower)
ITEM_OFFSETS = {"frequent": -0.25, "timely": -0.15, "accurate": -0.05, "problem_solving": 0.0,
                "shared_goals": 0.10, "shared_knowledge": 0.05, "mutual_respect": 0.30}

DEFAULTS = dict(grand_mean=3.55, thresholds=(1.5, 2.5, 3.5, 4.5), noise_sd=0.75, leniency_sd=0.35,
                rater_unit_sd=0.20, reputation_sd=0.25, network_reputation_mean=-0.15,
                within_unit_bonus=0.50, own_network_bonus=0.40, same_area_bonus=0.15,
                role_effects={"Leder": 0.15, "Medarbejder": 0.0, "Andet": 0.0},
                network_member_prob=0.30)


@dataclass
class SimRound:
    """One simulated round: canonical tables plus what an export needs beyond them.

    ``dont_know`` is aligned with ``responses`` rows: True where the NaN is a
    "don't know" answer (code 6 in exports) rather than a blank.
    """

    round_id: str
    responses: pd.DataFrame
    respondents: pd.DataFrame
    dont_know: np.ndarray | None = None


@dataclass
class Study:
    units: pd.DataFrame        # unit_id, name, kind, area, valid_from, valid_to, successor, aliases
    memberships: pd.DataFrame  # network_id, unit_id, from_round, to_round ("" when open)
    rounds: dict[str, tuple[pd.DataFrame, pd.DataFrame]]
    truth: dict
    dont_know: dict[str, np.ndarray] = field(default_factory=dict)

    def round(self, round_id: str) -> SimRound:
        responses, respondents = self.rounds[round_id]
        return SimRound(round_id, responses, respondents, self.dont_know.get(round_id))

    @property
    def round_ids(self) -> list[str]:
        return list(self.rounds)


# ---------------------------------------------------------------------------
# organisation
# ---------------------------------------------------------------------------

def build_organisation(n_base_units: int = 10, n_networks: int = 4,
                       rounds: tuple[str, ...] = ("2024", "2025")) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The unit register and the memberships for a municipality of the given size.

    The structure depends only on the sizes and round ids (not on the seed): the
    first ten units and four networks are the curated demo; more are taken from
    the name pools (then numbered), extra networks get members drawn with a
    fixed structural generator.
    """
    if n_base_units < 2:
        raise ValueError("need at least 2 base units")
    if n_networks < 0:
        raise ValueError("n_networks must be >= 0")
    rounds = tuple(str(r) for r in rounds)
    base = list(BASE_UNIT_POOL[:n_base_units])
    areas = sorted({a for _, _, a in BASE_UNIT_POOL[:10]}, key=[a for _, _, a in BASE_UNIT_POOL].index)
    for j in range(len(base), n_base_units):
        base.append((f"E{j + 1:03d}", f"Enhed {j + 1}", areas[j % len(areas)]))
    nets = list(NETWORK_POOL[:n_networks])
    for k in range(len(nets), n_networks):
        nets.append((f"N-{k + 1:02d}", f"Netværk {k + 1}"))
    rows = [dict(unit_id=u, name=n, kind="base", area=a, valid_from="", valid_to="", successor="",
                 aliases=ALIASES.get(u, "")) for u, n, a in base]
    rows += [dict(unit_id=u, name=n, kind="network", area="", valid_from="", valid_to="", successor="",
                  aliases="") for u, n in nets]
    units = pd.DataFrame(rows, columns=["unit_id", "name", "kind", "area", "valid_from", "valid_to",
                                        "successor", "aliases"])

    base_ids = [u for u, _, _ in base]
    net_ids = [u for u, _ in nets]
    last = len(rounds) - 1

    def rid(idx: int | None, open_value: int) -> str:
        if idx is None or idx == open_value:
            return ""
        return rounds[min(idx, last)]

    mem = []
    for net, unit, first, final in CURATED_MEMBERSHIPS:
        if net in net_ids and unit in base_ids and first <= last:
            mem.append((net, unit, rid(first, 0), "" if final is None or final >= last else rid(final, -1)))
    covered = {m[0] for m in mem}
    area_of = {u: a for u, _, a in base}
    for k, net in enumerate(net_ids):
        if net in covered:
            continue
        g = np.random.default_rng([n_base_units, n_networks, k])
        order = [base_ids[i] for i in g.permutation(len(base_ids))]
        picked: list[str] = []
        for u in order:  # prefer units from different areas
            if area_of[u] not in {area_of[p] for p in picked}:
                picked.append(u)
            if len(picked) == 3:
                break
        for u in order:
            if len(picked) >= min(3, len(base_ids)):
                break
            if u not in picked:
                picked.append(u)
        for j, u in enumerate(picked):
            mem.append((net, u, rid(1 if (j == 2 and last >= 1) else 0, 0), ""))
    rank = {u: i for i, u in enumerate(net_ids + base_ids)}
    rpos = {"": -1, **{r: i for i, r in enumerate(rounds)}}
    mem.sort(key=lambda m: (rank[m[0]], rpos[m[2]], rank[m[1]]))  # network, then start, then register order
    memberships = pd.DataFrame(mem, columns=["network_id", "unit_id", "from_round", "to_round"])
    return units, memberships


# ---------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------

def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder allocation of ``total`` over ``weights``."""
    share = weights / weights.sum() * total
    n = np.floor(share).astype(int)
    rest = total - n.sum()
    if rest > 0:
        n[np.argsort(-(share - n), kind="stable")[:rest]] += 1
    return n


def _unit_sizes(rng: np.random.Generator, n_respondents: int, n_base: int, small: int, n_rounds: int) -> np.ndarray:
    """(n_rounds, n_base) respondent counts: unbalanced (about 1:4.5), one unit tiny (4, then 3)."""
    if n_respondents < 5 * n_base:
        raise ValueError(f"n_respondents={n_respondents} is too small for {n_base} base units (need >= {5 * n_base})")
    w = np.linspace(1.0, 4.5, n_base - 1)[rng.permutation(n_base - 1)]
    sizes = np.zeros((n_rounds, n_base), dtype=int)
    others = [j for j in range(n_base) if j != small]
    for k in range(n_rounds):
        tiny = 4 if k == 0 else 3
        wk = w * np.exp(rng.normal(0.0, 0.10, n_base - 1))
        sizes[k, others] = np.maximum(_allocate(n_respondents - tiny, wk), 3)
        sizes[k, small] = tiny
    return sizes


def expected_score(eta: np.ndarray, thresholds, noise_sd: float, exact: bool = False) -> np.ndarray:
    """E[score | eta] under the ordinal model: 1 + sum_c P(eta + noise > c).

    Large arrays are evaluated by linear interpolation on a fine grid (error
    < 1e-7, far below anything a test or analysis can see); ``exact=True``
    evaluates the normal CDF everywhere.
    """
    eta = np.asarray(eta, dtype=float)
    cuts = np.asarray(thresholds, dtype=float)

    def f(x):
        out = np.ones_like(x, dtype=float)
        for c in cuts:
            out += ndtr((x - c) / noise_sd)
        return out

    if exact or eta.size < 200_000:
        return f(eta)
    lo, hi, m = cuts.min() - 8 * noise_sd, cuts.max() + 8 * noise_sd, 40_000
    h = (hi - lo) / m
    table = f(lo + h * np.arange(m + 2))
    pos = np.clip((eta - lo) / h, 0.0, float(m))  # f is constant (1 or K+1) beyond the grid
    i = pos.astype(np.intp)
    w = pos - i
    return table[i] * (1.0 - w) + table[i + 1] * w


def _did(e: dict[str, tuple[np.ndarray, np.ndarray]], baseline: str, followup: str) -> float | None:
    """(mean shared - mean non-shared) at follow-up minus at baseline; e[rid] = (values, shared mask)."""
    out = []
    for rid in (followup, baseline):
        v, sh = e[rid]
        ok = ~np.isnan(v)
        a, b = v[ok & sh], v[ok & ~sh]
        if a.size == 0 or b.size == 0:
            return None
        out.append(a.mean() - b.mean())
    return float(out[0] - out[1])


def _draw_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct random-looking 8-digit ids (strings)."""
    got = np.empty(0, dtype=np.int64)
    while got.size < n:
        more = rng.integers(10_000_000, 100_000_000, size=int((n - got.size) * 1.05) + 16)
        got = pd.unique(np.concatenate([got, more]))
    return got[:n].astype(str).astype(object)


def _joined_networks(is_member: np.ndarray, net_ids: list[str]) -> np.ndarray:
    """Per respondent, the ids of their networks sorted and joined by ';' ('' if none), vectorised."""
    n, K = is_member.shape
    if K == 0:
        return np.full(n, "", dtype=object)
    order = np.argsort(np.asarray(net_ids))
    bits = is_member[:, order].astype(np.int64) @ (np.int64(1) << np.arange(K, dtype=np.int64))
    combos, inverse = np.unique(bits, return_inverse=True)
    sorted_ids = [net_ids[i] for i in order]
    text = np.array([";".join(sorted_ids[q] for q in range(K) if (c >> q) & 1) for c in combos.tolist()],
                    dtype=object)
    return text[inverse.reshape(-1)]


def simulate_study(seed: int = 2024, rounds=("2024", "2025"), n_respondents: int = 450, n_base_units: int = 10,
                   n_networks: int = 4, network_effect: float = 0.30, drift: float = 0.05,
                   instrument: Instrument | str | Path | None = None, missing_rate: float = 0.03,
                   dont_know_rate: float = 0.04, trend: float | None = None, **params) -> Study:
    """Simulate a multi-round RC study with planted effects (see the module docstring).

    ``n_respondents`` is per round. ``params`` overrides the latent defaults in
    :data:`DEFAULTS` (e.g. ``noise_sd=0.6``). ``trend``: a planted linear trend on
    the RC scale per round (replaces ``drift``; see the module docstring).
    Deterministic given ``seed``; the same random draws with and without a trend.
    """
    rounds = tuple(str(r) for r in rounds)
    if trend is not None:
        trend, drift = float(trend), 0.0
        if not np.isfinite(trend) or abs(trend) > 1.0:
            raise ValueError("trend must be a number between -1 and 1 (RC points per round)")
    if len(rounds) < 1 or len(set(rounds)) != len(rounds):
        raise ValueError("rounds must be distinct round ids")
    if not 0 <= missing_rate + dont_know_rate < 1:
        raise ValueError("missing_rate + dont_know_rate must be in [0, 1)")
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown parameter(s) {sorted(unknown)}")
    p = {**DEFAULTS, **params}
    if instrument is None:
        instrument = default_instrument()
    elif not isinstance(instrument, Instrument):
        instrument = load_instrument(instrument)
    items = instrument.keys
    index_items = [k for k in instrument.index_keys]
    cuts = np.asarray(p["thresholds"], dtype=float)
    sd = float(p["noise_sd"])

    rng = np.random.default_rng(seed)
    units, memberships = build_organisation(n_base_units, n_networks, rounds)
    base_ids = units.loc[units.kind == "base", "unit_id"].tolist()
    net_ids = units.loc[units.kind == "network", "unit_id"].tolist()
    targets = base_ids + net_ids
    J, K, T, I = len(base_ids), len(net_ids), len(targets), len(items)
    area = units.set_index("unit_id")["area"]

    # fixed effects of the organisation (the same in every round)
    rater_unit_eff = rng.normal(0.0, p["rater_unit_sd"], J)
    reputation = np.concatenate([rng.normal(0.0, p["reputation_sd"], J),
                                 rng.normal(p["network_reputation_mean"], p["reputation_sd"], K)])
    item_off = np.array([ITEM_OFFSETS.get(i, 0.0) for i in items])
    same_area = np.zeros((J, T))
    for a, ua in enumerate(base_ids):
        for b, ub in enumerate(base_ids):
            if a != b and area[ua] == area[ub]:
                same_area[a, b] = 1.0
    small = base_ids.index(SMALL_UNIT) if SMALL_UNIT in base_ids else J - 1
    sizes = _unit_sizes(rng, n_respondents, J, small, len(rounds))
    all_ids = _draw_ids(rng, int(sizes.sum()))
    role_eff = np.array([p["role_effects"].get(r, 0.0) for r in ROLES])

    study_rounds: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    dont_know: dict[str, np.ndarray] = {}
    per_round: dict[str, dict] = {}
    final = rounds[-1]
    shared_final = shared_networks(memberships, final, rounds)
    # expected RC per respondent-tie, kept for the truth (base -> base, a != b)
    bb_expect: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    bb_observed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    id_start = 0
    for k, rid in enumerate(rounds):
        n_u = sizes[k]
        n = int(n_u.sum())
        unit_idx = np.repeat(np.arange(J), n_u)
        ids = all_ids[id_start:id_start + n]
        id_start += n
        leniency = rng.normal(0.0, p["leniency_sd"], n)
        role_idx = rng.choice(len(ROLES), size=n, p=np.asarray(ROLE_PROBS))
        # network membership of each respondent (only networks their unit is in, this round)
        mem_k = set(memberships_in_round(memberships, rid, rounds).itertuples(index=False, name=None))
        unit_in_net = np.array([[(net, base_ids[j]) in mem_k for net in net_ids] for j in range(J)],
                               dtype=bool).reshape(J, K)
        is_member = (rng.random((n, K)) < p["network_member_prob"]) & unit_in_net[unit_idx]
        # a member unit takes part through its staff: at least one of its respondents is in each of its
        # networks (so the memberships can be read back from the answers; no extra random draws)
        starts = np.concatenate([[0], np.cumsum(n_u)[:-1]])
        for j, q in zip(*np.nonzero(unit_in_net)):
            if n_u[j] and not is_member[starts[j]:starts[j] + n_u[j], q].any():
                is_member[starts[j], q] = True
        # shares_network for round k (never at the baseline)
        shares = np.zeros((J, T))
        if k > 0:
            for (a, b) in shared_networks(memberships, rid, rounds):
                shares[base_ids.index(a), base_ids.index(b)] = 1.0

        within = np.zeros((n, T))
        within[np.arange(n), unit_idx] = p["within_unit_bonus"]
        within[:, J:] += p["own_network_bonus"] * is_member
        eta_rt = (p["grand_mean"] + (leniency + role_eff[role_idx] + rater_unit_eff[unit_idx])[:, None]
                  + reputation[None, :] + within + p["same_area_bonus"] * same_area[unit_idx]
                  + drift * k)
        net_term = network_effect * shares[unit_idx]                     # (n, T)
        eta = (eta_rt + net_term)[:, :, None] + item_off[None, None, :]  # (n, T, I)
        shift = 0.0
        if trend is not None and k > 0:
            shift = _trend_shift(eta, net_term, [items.index(i) for i in index_items], cuts, sd, trend * k)
            eta = eta + shift
        latent = eta + rng.normal(0.0, sd, eta.shape)
        score = (1 + np.searchsorted(cuts, latent, side="left")).astype(float)
        u = rng.random(eta.shape)
        miss = u < missing_rate
        dk = (u >= missing_rate) & (u < missing_rate + dont_know_rate)
        score[miss | dk] = np.nan

        # expected RC of each respondent-tie (mean over index items), with/without terms
        ix = [items.index(i) for i in index_items]
        e_full = expected_score(eta[:, :, ix], cuts, sd).mean(axis=2)
        e_nonet = expected_score(eta[:, :, ix] - net_term[:, :, None], cuts, sd).mean(axis=2)
        e_nodrift = expected_score(eta[:, :, ix] - net_term[:, :, None] - drift * k, cuts, sd).mean(axis=2)
        bb = np.zeros((n, T), dtype=bool)
        bb[:, :J] = True
        bb[np.arange(n), unit_idx] = False
        shared_tie = np.zeros((J, T), dtype=bool)
        for (a, b) in shared_final:
            shared_tie[base_ids.index(a), base_ids.index(b)] = True
        treated_k = shares[unit_idx] > 0
        per_round[rid] = {
            "round_index": k,
            "n_respondents": n,
            "n_by_unit": {u_: int(c) for u_, c in zip(base_ids, n_u)},
            "n_network_members": {net: int(is_member[:, q].sum()) for q, net in enumerate(net_ids)},
            "network_effect_rc": float((e_full - e_nonet)[treated_k].mean()) if treated_k.any() else 0.0,
            "drift_rc": float((e_nonet - e_nodrift).mean()),
            "mean_expected_rc": float(e_full.mean()),
            "missing_rate": float(miss.mean()),
            "dont_know_rate": float(dk.mean()),
        }
        if trend is not None:
            e_static = expected_score(eta[:, :, ix] - net_term[:, :, None] - shift, cuts, sd).mean(axis=2)
            per_round[rid]["trend_shift_latent"] = float(shift)
            per_round[rid]["time_effect_rc"] = float(e_full.mean() - e_static.mean())
        bb_expect[rid] = (e_full[bb], shared_tie[unit_idx][bb])
        # the observed respondent-tie RC (mean of valid index items, >= scoring.min_items valid: the schema's
        # default)
        sc = score[:, :, ix]
        n_valid = (~np.isnan(sc)).sum(axis=2)
        with np.errstate(invalid="ignore"):
            rc_obs = np.where(n_valid >= min(section("scoring").min_items, len(ix)),
                              np.nansum(sc, axis=2) / np.maximum(n_valid, 1), np.nan)
        bb_observed[rid] = (rc_obs[bb], shared_tie[unit_idx][bb])

        # canonical tables, respondent-major, then target, then item
        n_cells_r = T * I
        responses = pd.DataFrame({
            "respondent_id": np.repeat(ids, n_cells_r),
            "rater_unit": np.repeat(np.asarray(base_ids, dtype=object)[unit_idx], n_cells_r),
            "target_unit": np.tile(np.repeat(np.asarray(targets, dtype=object), I), n),
            "item": np.tile(np.asarray(items, dtype=object), n * T),
            "value": score.reshape(-1),
        })
        nets_str = _joined_networks(is_member, net_ids)
        respondents = pd.DataFrame({
            "respondent_id": ids,
            "rater_unit": np.asarray(base_ids, dtype=object)[unit_idx],
            "networks": nets_str,
            "role": np.asarray(ROLES, dtype=object)[role_idx],
        })
        study_rounds[rid] = (responses, respondents)
        dont_know[rid] = dk.reshape(-1)

    # expected simple difference in differences (final round vs baseline) for the simulated ties
    did_expected = _did(bb_expect, rounds[0], final) if len(rounds) > 1 else None
    did_observed = _did(bb_observed, rounds[0], final) if len(rounds) > 1 else None

    unordered: dict[tuple[str, str], list[str]] = {}
    for (a, b), nets in shared_final.items():
        if a < b:
            unordered[(a, b)] = nets
    truth = {
        "synthetic": True,
        "seed": seed,
        "rounds": list(rounds),
        "baseline": rounds[0],
        "followup": final,
        "parameters": {"n_respondents_per_round": n_respondents, "n_base_units": J, "n_networks": K,
                       "network_effect": network_effect, "drift": drift, "missing_rate": missing_rate,
                       "dont_know_rate": dont_know_rate, "items": items},
        "shares_network_definition": (
            "tie rater base unit -> target base unit, the two units different, both members of a common "
            "network in the follow-up round (config/memberships.tsv); the effect is planted only in the "
            "follow-up round (difference in differences)"),
        "network_effect_latent": network_effect,
        "drift_latent_per_round": drift,
        "network_effect_rc": per_round[final]["network_effect_rc"] if len(rounds) > 1 else 0.0,
        "network_effect_rc_definition": (
            "mean over follow-up respondent-ties between different base units sharing a network of "
            "E[RC | eta] - E[RC | eta without the network term], RC = mean of the index item scores, "
            "exact under the ordinal model (missingness is completely at random)"),
        "network_effect_rc_did_expected": did_expected,
        "network_effect_rc_did_expected_definition": (
            "expected value of the simple difference in differences of mean RC (shared vs non-shared "
            "base->base ties, follow-up minus baseline) for the simulated respondents; differs from "
            "network_effect_rc only by sampling of respondents and the nonlinearity of the 1..5 scale"),
        "drift_rc": per_round[final]["drift_rc"] if len(rounds) > 1 else 0.0,
        "drift_rc_definition": ("mean over all follow-up respondent-ties of E[RC | eta] - E[RC | eta without "
                                "the drift term] (network term removed from both)"),
        "shared_pairs": [{"units": list(k_), "networks": v} for k_, v in unordered.items()],
        "shared_directed_pairs": [list(k_) for k_ in shared_final],
        "small_unit": base_ids[small],
        "latent": {
            "grand_mean": p["grand_mean"], "thresholds": [float(c) for c in cuts], "noise_sd": sd,
            "leniency_sd": p["leniency_sd"], "rater_unit_sd": p["rater_unit_sd"],
            "reputation_sd": p["reputation_sd"], "network_reputation_mean": p["network_reputation_mean"],
            "within_unit_bonus": p["within_unit_bonus"], "own_network_bonus": p["own_network_bonus"],
            "same_area_bonus": p["same_area_bonus"], "role_effects": dict(p["role_effects"]),
            "network_member_prob": p["network_member_prob"],
            "item_offsets": {i: float(o) for i, o in zip(items, item_off)},
            "rater_unit_effects": {u_: float(v) for u_, v in zip(base_ids, rater_unit_eff)},
            "target_reputation": {u_: float(v) for u_, v in zip(targets, reputation)},
        },
        "per_round": per_round,
    }
    if trend is not None:
        truth["parameters"]["trend"] = trend
        truth["trend_rc_per_round"] = trend
        truth["trend_rc_definition"] = (
            "planted linear trend on the RC scale, per round (rounds equally spaced by their order): the expected "
            "RC of round k's respondent-ties, averaged over all of them, minus the same respondents' expected RC "
            "without any time-varying term (latent shift and network effect) is trend * k; the drift is 0")
        truth["trend_latent_shift_by_round"] = {r: per_round[r]["trend_shift_latent"] for r in rounds}
    truth["network_effect_rc_sample_did"] = did_observed
    truth["network_effect_rc_sample_did_definition"] = (
        "the simple difference in differences computed from the simulated answers (respondent-tie RC = mean "
        "of >= 6 valid items; shared vs non-shared base->base ties, follow-up minus baseline); the "
        "estimate a correct analysis reproduces with the same estimator")
    return Study(units=units, memberships=memberships, rounds=study_rounds, truth=truth, dont_know=dont_know)


def _trend_shift(eta: np.ndarray, net_term: np.ndarray, ix: list[int], cuts: np.ndarray, sd: float,
                 target: float) -> float:
    """The latent shift s that puts the mean expected RC (index items ``ix``) of ``eta + s`` exactly
    ``target`` above that of ``eta`` without the network term."""
    e = eta[:, :, ix]
    static = float(expected_score(e - net_term[:, :, None], cuts, sd).mean())
    return float(brentq(lambda s: float(expected_score(e + s, cuts, sd).mean()) - static - target, -8.0, 8.0,
                        xtol=1e-12))


# ---------------------------------------------------------------------------
# a transparent estimator (for tests and for checking the analysis)
# ---------------------------------------------------------------------------

def respondent_tie_rc(responses: pd.DataFrame, items: list[str] | None = None, *, min_items: int) -> pd.DataFrame:
    """RC[r, t]: mean of the valid item scores, NaN when fewer than ``min_items`` are valid."""
    df = responses if items is None else responses[responses["item"].isin(items)]
    g = df.groupby(["respondent_id", "rater_unit", "target_unit"], sort=False)["value"]
    out = g.agg(["mean", "count"]).reset_index()
    out["rc"] = out["mean"].where(out["count"] >= min_items)
    return out[["respondent_id", "rater_unit", "target_unit", "rc"]]


def simple_did(study: Study, baseline: str, followup: str, *, min_items: int) -> float:
    """(mean RC shared - non-shared) at follow-up minus the same at baseline, base->base ties a != b.

    Shared = the two base units share a network in the follow-up round; each
    respondent-tie counts once.
    """
    base_ids = set(study.units.loc[study.units.kind == "base", "unit_id"])
    shared = set(shared_networks(study.memberships, followup, study.round_ids))
    diffs = []
    for rid in (followup, baseline):
        rc = respondent_tie_rc(study.rounds[rid][0], min_items=min_items).dropna(subset=["rc"])
        rc = rc[rc.target_unit.isin(base_ids) & (rc.target_unit != rc.rater_unit)]
        is_shared = pd.Series(list(zip(rc.rater_unit, rc.target_unit)), index=rc.index).isin(shared)
        diffs.append(rc.rc[is_shared].mean() - rc.rc[~is_shared].mean())
    return float(diffs[0] - diffs[1])


# ---------------------------------------------------------------------------
# the demo data set and the CLI
# ---------------------------------------------------------------------------

def _write_tsv(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False, lineterminator="\n", encoding="utf-8")


#: the base unit a simulated staff register gives a visibly low response rate (when the study has it)
LOW_RESPONSE_UNIT = "JOB"


def staff_register(study: Study, seed: int) -> pd.DataFrame:
    """A staff register for a simulated study (``staff.tsv``: ``unit_id, round, staff``, relcoord.weights):
    for every base unit of every round, its simulated respondents divided by a response rate drawn
    from U(0.55, 0.85) (:data:`LOW_RESPONSE_UNIT`: U(0.20, 0.30)), rounded up, so the staff are never
    fewer than the respondents (a unit without respondents gets 5 to 30 staff). Drawn from its own
    generator, ``numpy.random.default_rng([seed mod 2**32, 7])``, never from the study's: the exports
    do not change."""
    rng = np.random.default_rng([int(seed) % 2**32, 7])
    units = study.units
    rounds = study.round_ids
    rows = []
    for rid in rounds:
        respondents = study.rounds[rid][1]
        counts = respondents["rater_unit"].astype(str).value_counts()
        base = units[(units["kind"] == "base")]
        base = base[[_in_round(f, t, rid, rounds) for f, t in zip(base["valid_from"], base["valid_to"])]]
        for u in base["unit_id"].astype(str):
            n = int(counts.get(u, 0))
            rate = rng.uniform(0.20, 0.30) if u == LOW_RESPONSE_UNIT else rng.uniform(0.55, 0.85)
            staff = int(np.ceil(n / rate)) if n else int(rng.integers(5, 31))
            rows.append({"unit_id": u, "round": rid, "staff": max(staff, n)})
    return pd.DataFrame(rows, columns=["unit_id", "round", "staff"])


def _in_round(valid_from: str, valid_to: str, rid: str, rounds: list[str]) -> bool:
    pos = rounds.index(rid)
    lo = rounds.index(valid_from) if valid_from in rounds else 0
    hi = rounds.index(valid_to) if valid_to in rounds else len(rounds) - 1
    return lo <= pos <= hi


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    raise TypeError(type(o))


def _readme(truth: dict, fmt: dict[str, str]) -> str:
    t = truth
    lines = [
        "# Demo data: synthetic",
        "",
        "Everything in this folder is **synthetic**: a fictional Danish municipality and invented",
        "respondents, generated by `relcoord simulate` (`relcoord.simulate.make_demo`) with seed "
        f"{t['seed']}. No real person, answer or organisation is described. Names and e-mail addresses",
        "in the exports are made up (domain `.example`). Rerunning with the same seed gives byte-identical files.",
        "",
        "## Files",
        "",
    ]
    for rid, what in fmt.items():
        lines.append(f"- `{rid}/`: round {rid}, {what}")
    lines += [
        "- `truth.json`: the planted parameters (latent model and effects on the observed 1-5 RC scale),",
        "  the shared-network pairs, respondents per unit, and the deliberately invalid records per round",
        "  (by respondent id and source row; the header is row 1, the first record row 2).",
        "",
        "The unit register and the memberships are written to `config/units.tsv` and `config/memberships.tsv`.",
        "",
        "## Planted effects",
        "",
    ]
    if len(t.get("rounds", [])) > 1:
        lines += [
            f"- network effect (difference in differences, shared vs non-shared base-unit ties, "
            f"{t['followup']} vs {t['baseline']}): latent {t['network_effect_latent']:.3f}, "
            f"on the RC scale {t['network_effect_rc']:.4f}",
            f"- drift per round: latent {t['drift_latent_per_round']:.3f}, on the RC scale {t['drift_rc']:.4f}",
        ]
        if t.get("trend_rc_per_round") is not None:
            lines.append(f"- linear trend (replaces the drift): {t['trend_rc_per_round']:+.4f} RC points per round, "
                         "the network effect included (see `trend_rc_definition` in truth.json)")
    else:
        lines.append(f"- one round only ({', '.join(t.get('rounds', []))}): no follow-up round, so neither the "
                     "network effect nor the drift shows in the data")
    lines += [
        f"- the small unit `{t['small_unit']}` has fewer than 5 respondents in every round (privacy suppression)",
        "",
        "## Deliberately invalid records",
        "",
        "| round | kind | respondent id | source row(s) | column | value |",
        "|---|---|---|---|---|---|",
    ]
    for rid, rows in t.get("invalid_rows", {}).items():
        for r in rows:
            lines.append(f"| {rid} | {r['kind']} | {r['respondent_id'] or '(empty)'} | "
                         f"{', '.join(str(x) for x in r['source_rows'])} | {r.get('column', '')} | "
                         f"{r.get('value', '')} |")
    lines += ["", "## Export quirks on purpose", ""]
    for q in t.get("export_quirks", []):
        lines.append(f"- {q}")
    return "\n".join(lines) + "\n"


#: ``relcoord simulate --format``: the config's ``format`` names
CLI_FORMATS: tuple[str, ...] = ("surveyxact", "qualtrics", "limesurvey", "spss", "generic", "canonical")
#: the repository demo's rounds and planted trend (RC points per round): ``relcoord simulate`` without
#: options writes ``data/raw/demo`` and ``config/units.tsv`` / ``memberships.tsv`` byte for byte
DEMO_ROUNDS: tuple[str, ...] = ("2024", "2025", "2026")
DEMO_TREND: float = 0.1
#: ``--file-type`` (surveyxact: CSV trio or workbook; generic: wide CSV or workbook)
FILE_TYPES: tuple[str, ...] = ("csv", "xlsx")
#: make_demo's SurveyXact kinds (None = the demo mix)
_SURVEYXACT_KINDS = (None, "csv", "xlsx")


def demo_kind(config_format: str | None = None, file_type: str | None = None) -> str | None:
    """make_demo's ``fmt`` for a config ``format`` name and a ``file_type``.

    ``(None, None)`` is the demo mix (``None``); surveyxact gives ``"csv"`` /
    ``"xlsx"`` (default csv), generic ``"generic-csv"`` / ``"generic-xlsx"``
    (default csv), the other formats their own name (no file type).
    """
    if file_type is not None and file_type not in FILE_TYPES:
        raise RelcoordError(f"unknown file type {file_type!r}; use one of {', '.join(FILE_TYPES)}")
    if config_format is None or config_format == "surveyxact":
        return file_type if file_type or config_format is None else "csv"
    if config_format == "generic":
        return f"generic-{file_type or 'csv'}"
    if config_format not in CLI_FORMATS:
        raise RelcoordError(f"unknown format {config_format!r}; use one of {', '.join(CLI_FORMATS)}")
    if file_type is not None:
        raise RelcoordError(f"--file-type applies to surveyxact and generic, not to {config_format}",
                            hint=f"drop --file-type ({config_format} has one file type)")
    return config_format


def _round_plan(kind: str, rdir: Path, codebook: Path, config_dir: Path, layout: str | None = None) -> dict:
    """What writing one round of ``kind`` into ``rdir`` produces: ``format`` and ``export`` (the config
    values), ``codebook`` (the config value; ``writes_codebook`` when simulate writes it) and ``files``.
    SurveyXact rounds read with ``codebook`` unless ``layout="per_target"``, whose codebook simulate writes
    to ``<config_dir>/codebooks/surveyxact-per_target.yaml``."""
    if kind in ("csv", "xlsx"):
        files = [rdir / n for n in ("dataset.csv", "structure.csv", "labels.csv")] if kind == "csv" \
            else [rdir / "export.xlsx"]
        own = layout == "per_target"
        return {"kind": kind, "format": "surveyxact", "export": rdir if kind == "csv" else files[0],
                "codebook": config_dir / "codebooks" / "surveyxact-per_target.yaml" if own else codebook,
                "writes_codebook": own, "files": files}
    config_format, name, _ = FORMATS[kind]
    export = rdir if name == "." else rdir / name
    files = [rdir / "responses.csv", rdir / "respondents.csv"] if name == "." else [export]
    return {"kind": kind, "format": config_format, "export": export,
            "codebook": config_dir / "codebooks" / f"{kind}.yaml", "writes_codebook": True, "files": files}


def make_demo(out_dir: str | Path = "data/raw/demo", config_dir: str | Path = "config", seed: int = 2024, *,
              n_respondents: int = 450, n_base_units: int = 10, n_networks: int = 4,
              fmt: str | None = None, rounds=DEMO_ROUNDS, instrument: str | Path | None = None,
              codebook: str | Path | None = None, force: bool = False, layout: str | None = None,
              survey_language: str | None = None, trend: float | None = DEMO_TREND, **sim_kwargs) -> dict:
    """Simulate and write the demo data set; returns the truth (with invalid rows).

    The defaults write the repository's demo (``data/raw/demo``): three rounds
    (:data:`DEMO_ROUNDS`) with a planted linear trend of :data:`DEMO_TREND` RC
    points per round (``trend=None``: the older drift model instead).

    ``fmt=None`` writes the first round as the SurveyXact CSV trio (``;``,
    Latin-1) and later rounds as SurveyXact workbooks (``<round>/export.xlsx``);
    ``"csv"`` / ``"xlsx"`` use one format for every round; any other key of
    :data:`relcoord.writers.FORMATS` (``"qualtrics"``, ``"limesurvey"``,
    ``"spss"``, ``"generic-csv"``, ``"generic-xlsx"``, ``"canonical"``) writes
    every round in that format and its codebook to ``<config_dir>/codebooks/<fmt>.yaml``
    (:func:`demo_kind` maps the config's ``format`` names onto these).

    Nothing is written when a file it would write already exists (units.tsv,
    memberships.tsv, codebooks, the exports, truth.json, README.md) unless
    ``force=True``: a :class:`RelcoordError` lists them. ``layout`` and
    ``survey_language`` go to :func:`write_surveyxact` (SurveyXact rounds only).
    """
    return _make_demo(out_dir, config_dir, seed, n_respondents=n_respondents, n_base_units=n_base_units,
                      n_networks=n_networks, fmt=fmt, rounds=rounds, instrument=instrument, codebook=codebook,
                      force=force, layout=layout, survey_language=survey_language,
                      **({"trend": trend} if trend is not None else {}), **sim_kwargs)["truth"]


def _make_demo(out_dir, config_dir, seed, *, n_respondents, n_base_units, n_networks, fmt, rounds, instrument,
               codebook, force, layout, survey_language, **sim_kwargs) -> dict:
    """:func:`make_demo`, returning ``{truth, files (written, in order), rounds (round id -> plan)}``."""
    out_dir, config_dir = Path(out_dir), Path(config_dir)
    if fmt not in _SURVEYXACT_KINDS and fmt not in FORMATS:
        raise ValueError(f"unknown fmt {fmt!r}; use None, 'csv', 'xlsx' or one of {', '.join(FORMATS)}")
    sx_opts = {k: v for k, v in (("layout", layout), ("survey_language", survey_language)) if v is not None}
    if sx_opts and fmt not in _SURVEYXACT_KINDS:
        raise RelcoordError(f"layout and language apply to SurveyXact exports only, not to {fmt}")
    rounds = tuple(str(r) for r in rounds)
    bad = [r for r in rounds if not r.strip() or r in (".", "..") or any(c in r for c in "/\\")]
    if not rounds or bad or len(set(rounds)) != len(rounds):
        raise RelcoordError(f"round ids must be distinct, non-empty folder names: {', '.join(rounds) or '(none)'}")
    here = Path(__file__).resolve().parents[2]
    instrument = Path(instrument) if instrument else here / "config" / "instrument.yaml"
    codebook = Path(codebook) if codebook else here / "config" / "codebooks" / "demo.yaml"
    inst = load_instrument(instrument)
    cb = read_codebook(codebook)
    plan = {rid: _round_plan(fmt or ("csv" if k == 0 else "xlsx"), out_dir / rid, codebook, config_dir, layout)
            for k, rid in enumerate(rounds)}
    targets = [config_dir / "units.tsv", config_dir / "memberships.tsv", config_dir / "staff.tsv"]
    targets += [p["codebook"] for p in plan.values() if p["writes_codebook"]]
    targets += [f for p in plan.values() for f in p["files"]]
    targets += [out_dir / "truth.json", out_dir / "README.md"]
    targets = list(dict.fromkeys(targets))
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise RelcoordError(
            f"simulate would replace {len(existing)} existing file(s) and has written nothing:\n"
            + "\n".join(f"    {p}" for p in existing),
            hint="rerun with --force to replace them (make_demo(..., force=True) from Python), "
                 "or choose another --out / --config-dir")

    study = simulate_study(seed=seed, rounds=rounds, n_respondents=n_respondents, n_base_units=n_base_units,
                           n_networks=n_networks, instrument=inst, **sim_kwargs)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth = study.truth
    truth["invalid_rows"] = {}
    truth["export_quirks"] = []
    written: dict[str, str] = {}
    for k, rid in enumerate(study.round_ids):
        rplan = plan[rid]
        kind = rplan["kind"]
        rdir = out_dir / rid
        rdir.mkdir(parents=True, exist_ok=True)
        if kind not in ("csv", "xlsx"):  # the other formats' writers (relcoord.writers.FORMATS)
            info = write_round(kind, study.round(rid), study.units, inst, rdir, seed=seed + k)
            written[rid] = info["description"]
            rplan["codebook"].parent.mkdir(parents=True, exist_ok=True)
            rplan["codebook"].write_text(
                yaml.safe_dump(info["codebook"], allow_unicode=True, sort_keys=False), encoding="utf-8")
            continue
        names = None
        trailing = False
        if fmt is None and k == 0:
            trailing = True
            truth["export_quirks"].append(
                f"round {rid}: the network choice texts (v_2) end with a blank, as in real SurveyXact exports")
        if fmt is None and k == len(study.round_ids) - 1 and k > 0:
            names = {u: a for u, a in ALIASES.items() if u in set(study.units.unit_id)}
            for u, a in names.items():
                truth["export_quirks"].append(
                    f"round {rid}: unit {u} is written as its alias '{a}' (see aliases in config/units.tsv)")
        info = write_surveyxact(study.round(rid), study.units, inst, cb, rplan["export"], kind=kind,
                                delimiter=";", encoding="latin-1", invalid_rows=True, seed=seed + k,
                                names=names, trailing_space_choice_text=trailing, **sx_opts)
        truth["invalid_rows"][rid] = info["invalid_rows"]
        if rplan["writes_codebook"]:
            rplan["codebook"].parent.mkdir(parents=True, exist_ok=True)
            rplan["codebook"].write_text(
                yaml.safe_dump(info["codebook"], allow_unicode=True, sort_keys=False), encoding="utf-8")
        written[rid] = ("SurveyXact CSV trio `dataset.csv`, `structure.csv`, `labels.csv` (`;`, Latin-1)"
                        if kind == "csv" else
                        f"SurveyXact workbook `export.xlsx` (sheets {', '.join(info['sheets'])})")
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=2, ensure_ascii=False, default=_json_default)
                                        + "\n", encoding="utf-8")
    (out_dir / "README.md").write_text(_readme(truth, written), encoding="utf-8")
    _write_tsv(study.units, config_dir / "units.tsv")
    _write_tsv(study.memberships, config_dir / "memberships.tsv")
    _write_tsv(staff_register(study, seed), config_dir / "staff.tsv")
    return {"truth": truth, "files": targets, "rounds": plan, "instrument": instrument,
            "units": config_dir / "units.tsv", "memberships": config_dir / "memberships.tsv"}


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="relcoord simulate",
                                 description="Write a synthetic RC study (demo exports, unit register, truth).")
    ap.add_argument("--out", default="data/raw/demo", help="output folder for the exports (default data/raw/demo)")
    ap.add_argument("--config-dir", default="config",
                    help="where units.tsv, memberships.tsv, staff.tsv and written codebooks go (default config)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--respondents", type=int, default=450, help="respondents per round (default 450)")
    ap.add_argument("--units", type=int, default=10, help="base units (default 10)")
    ap.add_argument("--networks", type=int, default=4, help="networks (default 4)")
    ap.add_argument("--rounds", nargs="+", default=list(DEMO_ROUNDS), metavar="ID",
                    help="round ids to simulate, the first the baseline (default 2024 2025 2026, the demo's); one "
                         "id gives one "
                         "round (no follow-up, so no network effect)")
    ap.add_argument("--format", choices=CLI_FORMATS, default=None,
                    help="the config's format for every round (default: the demo mix, first round SurveyXact CSV "
                         "trio, later rounds SurveyXact workbook); formats other than surveyxact also write "
                         "their codebook to CONFIG_DIR/codebooks/")
    ap.add_argument("--file-type", choices=FILE_TYPES, default=None,
                    help="surveyxact: csv (the CSV trio, default with --format surveyxact) or xlsx (workbook); "
                         "generic: csv (default) or xlsx")
    ap.add_argument("--layout", choices=LAYOUTS, default=None,
                    help="SurveyXact only: per_item (one matrix question per item, the default) or per_target "
                         "(one question per target unit; its codebook goes to "
                         "CONFIG_DIR/codebooks/surveyxact-per_target.yaml)")
    ap.add_argument("--language", choices=("da", "en"), default=None,
                    help="SurveyXact only: language of the item questions and answer options (default da)")
    ap.add_argument("--instrument", default=None, metavar="PATH",
                    help="instrument (items, code -> score coding) to simulate "
                         "(default: the repository's config/instrument.yaml)")
    ap.add_argument("--trend", type=float, default=DEMO_TREND, metavar="RC",
                    help=f"plant a linear trend of RC points per round (default {DEMO_TREND}, the demo's; meant for "
                         "three or more rounds; recorded in truth.json as trend_rc_per_round); --no-trend uses a "
                         "small constant drift per round instead")
    ap.add_argument("--no-trend", dest="trend", action="store_const", const=None,
                    help="no planted trend: the drift model (a small latent drift per round)")
    ap.add_argument("--force", action="store_true",
                    help="replace existing files (units.tsv, memberships.tsv, staff.tsv, codebooks, exports, "
                         "truth.json, README.md); without it nothing is written when any of them exists")
    ap.add_argument("--consortium", type=int, default=None, metavar="N",
                    help="write a consortium instead: N organisations, each a study folder OUT/orgs/orgNNN with "
                         "about --respondents respondents (+-50 %%) per round in --rounds (default 2025 here), "
                         "and OUT/benchmark.yaml (relcoord.consortium; --out required)")
    return ap


def main_simulate(argv: list[str] | None = None) -> int:
    """CLI entry: ``relcoord simulate --out DIR --config-dir DIR --seed N [...]``."""
    return run_simulate(build_parser().parse_args(argv))


def _show(path: Path | str) -> str:
    """``path`` relative to the working folder when it is inside it, as written in a config."""
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            pass
    return p.as_posix()


def run_simulate(args: argparse.Namespace) -> int:
    """Run ``relcoord simulate`` with parsed arguments."""
    if getattr(args, "consortium", None) is not None:   # relcoord.cli hands --consortium to relcoord.consortium
        raise RelcoordError("--consortium is an option of the `relcoord simulate` command",
                            hint="run `relcoord simulate --consortium N --out DIR`")
    kind = demo_kind(args.format, args.file_type)
    layout, language = getattr(args, "layout", None), getattr(args, "language", None)
    if (layout or language) and kind not in _SURVEYXACT_KINDS:
        raise RelcoordError(f"--layout and --language apply to SurveyXact exports only, not to --format {args.format}",
                            hint="drop them, or use --format surveyxact")
    rounds = tuple(args.rounds)
    res = _make_demo(args.out, args.config_dir, args.seed, n_respondents=args.respondents,
                     n_base_units=args.units, n_networks=args.networks, fmt=kind, rounds=rounds,
                     instrument=args.instrument, codebook=None, force=args.force, layout=layout,
                     survey_language=language,
                     **({"trend": args.trend} if getattr(args, "trend", None) is not None else {}))
    truth = res["truth"]
    print(f"wrote synthetic study (seed {args.seed}, round{'s' if len(rounds) > 1 else ''} {', '.join(rounds)}) "
          f"to {args.out}; units and memberships to {args.config_dir}")
    print("files written:")
    for p in res["files"]:
        print(f"  {_show(p)}")
    if len(rounds) > 1:
        print(f"planted network effect: latent {truth['network_effect_latent']:.3f}, "
              f"RC scale {truth['network_effect_rc']:.4f}; drift RC scale {truth['drift_rc']:.4f}")
        if truth.get("trend_rc_per_round") is not None:
            print(f"planted linear trend: {truth['trend_rc_per_round']:+.4f} RC points per round")
    else:
        print("one round only: no follow-up round, so no planted network effect or drift shows in the data")
    print("config lines for this study (paths as seen from the folder relcoord simulate ran in):")
    print(f"units: {_show(res['units'])}")
    print(f"memberships: {_show(res['memberships'])}")
    print(f"instrument: {_show(res['instrument'])}")
    print("rounds:")
    for rid, p in res["rounds"].items():
        print(f'  "{rid}":')
        print(f"    format: {p['format']}")
        print(f"    export: {_show(p['export'])}")
        print(f"    codebook: {_show(p['codebook'])}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main_simulate())
