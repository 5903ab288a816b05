"""Self-contained HTML reports: one per round, one per comparison, and an index page.

Readers are managers, network leads and staff: every page opens by double
click (images embedded as base64 PNG, CSS inline, no network access), starts
with plain-language findings and the figures, then tables, reliability,
methods and data provenance, in Danish or English (``report.language``).

Privacy: the functions take the **reader-facing** tables only (scores/*.csv,
changes.csv, model.csv). A value that is missing there, flagged
``suppressed``, or that comes with a count below ``privacy.min_group_size`` is
rendered "–" with the footnote "hidden: fewer than k respondents"; a count
below k is rendered "< k". Nothing is recomputed from respondent-level data.

Entry points: :func:`round_report`, :func:`comparison_report`,
:func:`index_page`; helpers :func:`software_versions`, :func:`config_hash`,
:func:`embed_png`. Fixed texts live in :data:`TEXT` (da and en have the same
keys; tests check it).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import platform
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from .figures import (COMPARISON_FIGURES, ROUND_FIGURES, _as_bool, _names, band_of, block_label, captions,
                      change_visibility, did_estimate, fmt_int, fmt_num, measure_label, unit_order, visible_rows)
from .privacy import summary_for_readers
from .runner import config_hash  # noqa: F401  (re-exported: report.config_hash)

__all__ = ["TEXT", "ROUND_SECTIONS", "COMPARISON_SECTIONS", "round_report", "comparison_report", "index_page",
           "software_versions", "config_hash", "embed_png", "round_findings", "comparison_findings",
           "validation_findings"]

TEMPLATES = Path(__file__).with_name("templates")

ROUND_SECTIONS: tuple[str, ...] = ("summary", "figures", "response", "units", "blocks", "ties", "reliability",
                                   "methods", "provenance")
COMPARISON_SECTIONS: tuple[str, ...] = ("summary", "figures", "response", "organisation", "blocks", "units",
                                        "ties", "model", "methods", "provenance")

# --------------------------------------------------------------------------- texts

TEXT: dict[str, dict[str, str]] = {
    "da": {
        "lang_name": "Dansk", "default_title": "Relationel koordinering",
        "round_report": "Rapport for målingen", "comparison_report": "Sammenligning af målinger",
        "index_title": "Oversigt over rapporter", "rounds": "Målinger", "comparisons": "Sammenligninger",
        "no_reports": "Ingen rapporter endnu.", "failed_h": "Ikke færdige", "step_validation": "validering", "step_scoring": "beregning", "step_report": "rapport", "step_comparison": "sammenligning", "failed": "{label}: kørslen stoppede ved trinnet {step}; resultaterne er fjernet, så intet forældet vises. Se {log}.", "failed_not_run": "{label}: ikke beregnet i denne kørsel (trinnet {step} mangler), fordi kørslen stoppede tidligere.", "open": "Åbn rapporten", "date": "Dato",
        "provenance_link": "Sporbarhed: sha256 af alle input- og resultatfiler, konfigurationens hash, "
                           "workflowets git-commit og programversioner",
        "contents": "Indhold",
        "sec_summary": "Det vigtigste", "sec_figures": "Figurer", "sec_response": "Svar og validering",
        "sec_units": "Enheder", "sec_blocks": "Blokke: inden for og mellem slags grupper",
        "sec_ties": "Bånd mellem to grupper", "sec_reliability": "Pålidelighed og enighed",
        "sec_methods": "Metode", "sec_provenance": "Data og sporbarhed",
        "sec_organisation": "Hele organisationen", "sec_model": "Blandede modeller og netværkseffekt",
        "hidden_note": "– skjult. Antal \"< {k}\": færre end {k} svarpersoner; antal \"–\": skjult for at "
                       "beskytte en lille gruppe, som ellers kunne regnes ud (gruppen selv har {k} eller flere).",
        "hidden_short": "skjult: færre end {k} svarpersoner",
        "how_to_read": "Skalaen går fra 1 (lav) til 5 (høj). Svag: under {weak}; moderat: {weak}–{strong}; "
                       "stærk: over {strong} (en konvention fra publicerede analyser, ikke en norm). Et bånd "
                       "A → B er, hvordan gruppe A oplever koordineringen med gruppe B; B → A kan være anderledes.",
        "kpi_rc": "RC-indeks", "kpi_respondents": "Svarpersoner", "kpi_rate": "Svarprocent",
        "kpi_ties": "Synlige bånd", "kpi_change": "Ændring i RC-indeks", "kpi_did": "Forskel-i-forskelle",
        # round findings
        "f_org": "Organisationens RC-indeks er <strong>{mean}</strong> (95 %-KI {lo}–{hi}, n = {n}), "
                 "dvs. i det <strong>{band}</strong> bånd.",
        "f_org_hidden": "Organisationens RC-indeks er skjult (for få svarpersoner).",
        "f_sub_diff": "Kommunikation ({comm}) vurderes {word} end relationer ({rel}); konfidensintervallerne "
                      "overlapper ikke.",
        "f_sub_same": "Kommunikation ({comm}) og relationer ({rel}) ligger tæt; forskellen er inden for "
                      "den statistiske usikkerhed.",
        "lower": "lavere", "higher": "højere",
        "f_items": "Svageste dimension: <strong>{weak_item}</strong> ({weak}); stærkeste: "
                   "<strong>{strong_item}</strong> ({strong}).",
        "f_within": "Inden for egen basisenhed er koordineringen {within}; mellem forskellige basisenheder "
                    "{between}; fra basisenheder til netværk {to_net}.",
        "f_weakest": "Svageste forbindelse mellem to grupper: <strong>{a}</strong> og <strong>{b}</strong> "
                     "({a_id} → {b_id}: {ab}; {b_id} → {a_id}: {ba}).",
        "f_strongest": "Stærkeste forbindelse mellem to grupper: <strong>{a}</strong> og <strong>{b}</strong> "
                       "({a_id} → {b_id}: {ab}; {b_id} → {a_id}: {ba}).",
        "f_asym": "Største forskel på de to retninger: {a_id} → {b_id} {ab} mod {b_id} → {a_id} {ba} "
                  "(forskel {diff}).",
        "f_counts": "Af {n} synlige bånd mellem forskellige grupper er {weak} svage, {moderate} moderate og "
                    "{strong} stærke.",
        "f_hidden": "{hidden} af {total} bånd er skjult: {small} fordi færre end {k} har svaret, {protect} skjult "
                    "for at beskytte en lille gruppe.",
        "f_caution": "Forskelle på under ca. 0,1 point er små; se konfidensintervallerne, før der drages "
                     "konklusioner.",
        "f_set_aside": "Sat til side ved valideringen: <strong>{n}</strong> af {total} besvarelser (fx dubletter, "
                       "ukendte enheder eller ugyldige svarkoder); de indgår ikke i resultaterne. Se "
                       "valideringsrapporten.",
        "f_missing_units": "Ingen gyldige svar fra: <strong>{names}</strong>. Disse enheder mangler i alle "
                           "resultater for denne måling.",
        # comparison findings
        "f_c_org": "RC-indekset gik fra {a} ({la}) til {b} ({lb}): <strong>{diff}</strong> point "
                   "(Hedges' g {g}, 95 %-KI {glo} til {ghi}; n = {na} / {nb}).",
        "f_c_sig": "Ændringen er statistisk signifikant efter korrektion for mange test (FDR), og effekten er "
                   "{size}.",
        "f_c_nsig": "Ændringen er <strong>ikke</strong> statistisk signifikant efter korrektion for mange test "
                    "(FDR); den kan skyldes tilfældigheder.",
        "f_c_hidden": "Ændringen i organisationens RC-indeks kan ikke vises (for få svarpersoner).",
        "f_c_ties": "Af {n} synlige bånd ændrede {sig} sig signifikant efter FDR ({up} op, {down} ned); "
                    "for de øvrige {rest} kan der ikke påvises en ændring.",
        "f_c_blocks_sig": "Signifikante ændringer i blokke: {list}.",
        "f_c_blocks_none": "Ingen blok ændrede sig signifikant efter FDR.",
        "f_c_did": "Forskel-i-forskelle-estimatet for bånd mellem basisenheder, der deler et netværk i {lb}, er "
                   "<strong>{est}</strong> point (95 %-KI {lo} til {hi}): deres bånd ændrede sig i gennemsnit "
                   "så meget mere end andre bånd mellem basisenheder.",
        "f_c_did_zero": "Forskel-i-forskelle-estimatet for bånd mellem basisenheder, der deler et netværk, er "
                        "{est} point (95 %-KI {lo} til {hi}); intervallet indeholder 0, så der kan ikke påvises "
                        "en forskel.",
        "f_c_did_caveat": "Det er en sammenhæng under modellens antagelser, ikke et bevis for, hvad der er årsagen.",
        "f_c_sens": "Kun med enheder, der findes i begge målinger: {est} (95 %-KI {lo} til {hi}).",
        "f_c_anon": "Målingerne er anonyme: det er ikke nødvendigvis de samme personer, der har svaret, og "
                    "ændringer kan også afspejle, hvem der svarede.",
        "size_very_small": "meget lille", "size_small": "lille", "size_moderate": "moderat", "size_large": "stor",
        # tables
        "unit": "Enhed", "code": "Kode", "kind": "Slags", "area": "Område", "base": "Basisenhed",
        "network": "Netværk", "within": "Inden for", "between": "Til andre", "received": "Modtaget",
        "n": "n", "rc": "RC", "communication": "Kommunikation", "relationship": "Relationer",
        "block": "Blok", "n_respondents": "Svarpersoner", "group_a": "Gruppe A", "group_b": "Gruppe B",
        "a_to_b": "A → B", "b_to_a": "B → A", "mean_both": "Gennemsnit", "difference": "Forskel (A − B)",
        "weakest_pairs": "De svageste forbindelser (begge retninger)",
        "strongest_pairs": "De stærkeste forbindelser (begge retninger)",
        "all_ties": "Alle bånd (klik for at folde ud)", "rater": "Gruppen der svarer",
        "target": "Gruppen der vurderes", "ci": "95 %-KI", "band": "Styrke", "weakest_dim": "Svageste dimension",
        "weak": "svag", "moderate": "moderat", "strong": "stærk",
        "units_note": "Inden for: hvordan enhedens egne medarbejdere vurderer koordineringen internt. Til andre: "
                      "hvordan enhedens medarbejdere vurderer de andre grupper. Modtaget: hvordan andre grupper "
                      "vurderer enheden.",
        "blocks_note": "En svarperson i et netværk tæller også som vurderende for netværket, så antallet af "
                       "svarpersoner i blokkene kan ikke lægges sammen.",
        "measure": "Mål", "scope": "Grundlag", "value": "Værdi", "explanation": "Hvad betyder det?",
        "rel_intro": "Disse tal fortæller, om det giver mening at tale om gruppers scorer: om spørgsmålene "
                     "hænger sammen, og om folk i samme gruppe svarer ens.",
        "rel_alpha_listwise": "Cronbachs alfa (kun fuldt besvarede)", "rel_alpha_pairwise":
        "Cronbachs alfa (parvis)", "rel_icc1": "ICC(1)", "rel_icc2": "ICC(2)", "rel_icc1_k0": "ICC(1), justeret k",
        "exp_alpha": "Hænger spørgsmålene sammen? Over 0,70 regnes normalt som tilstrækkeligt.",
        "exp_icc1": "Hvor stor en del af forskellene mellem svar der skyldes, hvilken enhed man er i.",
        "exp_icc2": "Hvor pålideligt enhedernes gennemsnit skelner mellem enhederne (over 0,70 er godt).",
        "scope_all_ties": "alle bånd", "scope_respondent_means": "svarpersonernes gennemsnit",
        "scope_communication": "kommunikation", "scope_relationship": "relationer",
        "scope_rater_unit": "basisenheder",
        "agreement": "Enighed inden for grupper, rwg(j): median {median} over {n} synlige bånd; {share} har "
                     "mindst 0,70 (en omdiskuteret tommelfingerregel for tilstrækkelig enighed).",
        "negative_flag": "negativ værdi: ingen målbar forskel mellem enheder",
        # response
        "records_in": "Besvarelser i eksporten", "valid": "Gyldige", "quarantined": "Sat til side (karantæne)",
        "warned": "Med advarsel", "rate": "Svarprocent", "invited": "Inviterede",
        "answers": "Svar om grupper: gyldige / ved ikke / ikke besvaret",
        "by_rule": "Årsager til at besvarelser blev sat til side", "rule": "Årsag", "count": "Antal",
        "per_unit": "Svarpersoner pr. basisenhed", "respondents": "Svarpersoner",
        "response_note": "Enheder med færre end {k} svarpersoner vises som \"< {k}\"; \"–\": antallet er skjult, "
                         "for at en lille enheds antal ikke kan regnes ud fra det samlede antal.",
        "round": "Måling", "baseline": "Før", "followup": "Efter",
        "dont_know_share": "Ved ikke (andel af svar)", "blank_share": "Ikke besvaret (andel af svar)",
        # comparison tables
        "mean_a": "Før", "mean_b": "Efter", "diff": "Ændring", "g": "Hedges' g (95 %-KI)", "p_fdr": "p (FDR)",
        "verdict": "Vurdering", "sig": "signifikant", "nsig": "ikke signifikant", "level": "Niveau",
        "unit_between": "Til andre", "unit_received": "Modtaget", "unit_within": "Inden for",
        "top_changes": "De {n} bånd med størst ændring", "changes_note": "Ændring = efter − før. Signifikant "
        "betyder p < 0,05 efter Benjamini–Hochberg-korrektion for mange test. Hedges' g: under 0,2 meget "
        "lille, 0,2–0,5 lille, 0,5–0,8 moderat, over 0,8 stor (Cohens konvention).",
        "model": "Model", "term": "Led", "estimate": "Estimat", "p": "p", "n_obs": "Observationer",
        "model_note": "Note", "model_intro": "Blandede modeller af svarpersonernes båndscorer (1–5) med "
        "tilfældige effekter for gruppen der svarer og gruppen der vurderes.",
        "m_round": "Ændring fra før til efter (alle bånd)", "m_round_respondent":
        "Ændring fra før til efter, med svarperson-effekt", "m_network_did": "Forskel-i-forskelle: deler netværk",
        "m_network_did_respondent": "Forskel-i-forskelle, med svarperson-effekt",
        "m_block_base_network": "Ændring mod netværk minus ændring mod basisenheder",
        "m_sensitivity_round": "Følsomhed: kun enheder i begge målinger (ændring)",
        "m_sensitivity_network_did": "Følsomhed: kun enheder i begge målinger (forskel-i-forskelle)",
        # methods
        "methods_round": "Hver svarperson vurderer hver gruppe (også sin egen) på syv spørgsmål fra 1 til 5 "
                         "(Gittells Relational Coordination Survey). En svarpersons RC-score om en gruppe er "
                         "gennemsnittet af spørgsmålene, når mindst {min_items} af {n_items} er besvaret; "
                         "kommunikation er gennemsnittet af de fire kommunikationsspørgsmål, relationer af de tre "
                         "relationsspørgsmål. \"Ved ikke\" og ubesvarede tæller ikke med. Et bånd A → B er "
                         "gennemsnittet over svarpersonerne i A af deres score om B, med et 95 %-konfidensinterval "
                         "({ci}). En svarperson i et netværk tæller også som vurderende for netværket. "
                         "Organisationens indeks er gennemsnittet af svarpersonernes indeks (hver person én gang).",
        "methods_bands": "Styrkebånd: svag under {weak}, moderat {weak}–{strong}, stærk over {strong} "
                         "(konvention, kan ændres i konfigurationen).",
        "methods_privacy": "Ingen statistik bygger på færre end {k} svarpersoner. Desuden skjules enkelte andre "
                           "tal for at beskytte en lille gruppe: en kontrol af alle viste tal sikrer, at intet tal "
                           "om en lille gruppe kan regnes ud af dem, og skjuler først de tal, der kan genberegnes "
                           "fra andre viste tal (modtaget, mod andre, blokke, netværk).",
        "methods_reliability": "Cronbachs alfa med Feldts konfidensinterval (fuldt besvarede og parvis); ICC(1) "
                               "og ICC(2) efter Bliese (2000) fra en envejs-ANOVA med k = gennemsnitlig "
                               "gruppestørrelse; rwg(j) efter James, Demaree & Wolf (1984) med ensfordelt "
                               "nulvarians.",
        "methods_compare": "Ikke-parrede sammenligninger (anonyme målinger): Welch t-test af "
                           "svarpersonernes scorer pr. organisation, blok, enhed og bånd, Mann–Whitney U som "
                           "robusthedstjek, effektstørrelse Hedges' g med konfidensinterval ({gci}), og "
                           "Benjamini–Hochberg-korrektion (FDR) for mange test inden for hvert niveau og mål.",
        "methods_model": "Blandet model (REML): score ~ måling + (1 | gruppen der svarer) + (1 | gruppen der "
                         "vurderes), også med (1 | svarperson). Netværkseffekten er forskel-i-forskelle-leddet "
                         "måling × deler_netværk i en model af bånd mellem forskellige basisenheder, hvor "
                         "deler_netværk betyder, at de to enheder er med i et fælles netværk i den sidste måling. "
                         "Konfidensintervaller og p-værdier er Wald-baserede.",
        "methods_nocause": "Resultaterne beskriver forskelle og sammenhænge; de beviser ikke årsager.",
        "software": "Software", "package": "Pakke", "version": "Version",
        "files": "Eksportfiler", "path": "Fil", "sha256": "SHA-256", "bytes": "Bytes",
        "config_hash": "Indstillinger bag denne rapport (SHA-256, som i provenance.json)", "other": "Andet", "not_installed": "ikke installeret",
        "figure_missing": "Figuren findes ikke.", "yes": "ja", "no": "nej",
        "rule_code_out_of_range": "ugyldig svarkode", "rule_duplicate_respondent_id": "samme svarperson flere gange",
        "rule_missing_respondent_id": "mangler svarperson-id", "rule_unknown_unit": "ukendt enhed",
        "footer": "Lavet med relcoord {version}. Rapporten er en selvstændig fil uden netværksadgang.",
    },
    "en": {
        "lang_name": "English", "default_title": "Relational coordination",
        "round_report": "Round report", "comparison_report": "Comparison of rounds",
        "index_title": "Reports", "rounds": "Rounds", "comparisons": "Comparisons",
        "no_reports": "No reports yet.", "failed_h": "Not completed", "step_validation": "validation", "step_scoring": "scoring", "step_report": "report", "step_comparison": "comparison", "failed": "{label}: the run stopped at the {step} step; its results were removed so that nothing out of date is shown. See {log}.", "failed_not_run": "{label}: not computed in this run (the {step} step is missing) because the run stopped earlier.", "open": "Open the report", "date": "Date",
        "provenance_link": "Provenance: sha256 of every input and result file, the config hash, the workflow's git "
                           "commit and the software versions",
        "contents": "Contents",
        "sec_summary": "Key findings", "sec_figures": "Figures", "sec_response": "Responses and validation",
        "sec_units": "Units", "sec_blocks": "Blocks: within and between kinds of groups",
        "sec_ties": "Ties between two groups", "sec_reliability": "Reliability and agreement",
        "sec_methods": "Methods", "sec_provenance": "Data and provenance",
        "sec_organisation": "Whole organisation", "sec_model": "Mixed models and network effect",
        "hidden_note": "– hidden. Count \"< {k}\": fewer than {k} respondents; count \"–\": hidden to protect a "
                       "small group that could otherwise be worked out (the group itself has {k} or more).",
        "hidden_short": "hidden: fewer than {k} respondents",
        "how_to_read": "The scale runs from 1 (low) to 5 (high). Weak: below {weak}; moderate: {weak}–{strong}; "
                       "strong: above {strong} (a convention from published analyses, not a norm). A tie A → B "
                       "is how group A experiences coordination with group B; B → A can differ.",
        "kpi_rc": "RC index", "kpi_respondents": "Respondents", "kpi_rate": "Response rate",
        "kpi_ties": "Visible ties", "kpi_change": "Change in RC index", "kpi_did": "Difference in differences",
        "f_org": "The organisation's RC index is <strong>{mean}</strong> (95 % CI {lo}–{hi}, n = {n}), "
                 "in the <strong>{band}</strong> band.",
        "f_org_hidden": "The organisation's RC index is hidden (too few respondents).",
        "f_sub_diff": "Communication ({comm}) is rated {word} than relationships ({rel}); the confidence "
                      "intervals do not overlap.",
        "f_sub_same": "Communication ({comm}) and relationships ({rel}) are close; the difference is within "
                      "the statistical uncertainty.",
        "lower": "lower", "higher": "higher",
        "f_items": "Weakest dimension: <strong>{weak_item}</strong> ({weak}); strongest: "
                   "<strong>{strong_item}</strong> ({strong}).",
        "f_within": "Within their own base unit coordination is {within}; between different base units "
                    "{between}; from base units to networks {to_net}.",
        "f_weakest": "Weakest connection between two groups: <strong>{a}</strong> and <strong>{b}</strong> "
                     "({a_id} → {b_id}: {ab}; {b_id} → {a_id}: {ba}).",
        "f_strongest": "Strongest connection between two groups: <strong>{a}</strong> and <strong>{b}</strong> "
                       "({a_id} → {b_id}: {ab}; {b_id} → {a_id}: {ba}).",
        "f_asym": "Largest difference between the two directions: {a_id} → {b_id} {ab} against "
                  "{b_id} → {a_id} {ba} (difference {diff}).",
        "f_counts": "Of {n} visible ties between different groups, {weak} are weak, {moderate} moderate and "
                    "{strong} strong.",
        "f_hidden": "{hidden} of {total} ties are hidden: {small} because fewer than {k} answered, {protect} "
                    "hidden to protect a small group.",
        "f_caution": "Differences below about 0.1 points are small; check the confidence intervals before "
                     "drawing conclusions.",
        "f_set_aside": "Set aside at validation: <strong>{n}</strong> of {total} records (e.g. duplicates, unknown "
                       "units or invalid answer codes); they are not in the results. See the validation report.",
        "f_missing_units": "No valid responses from: <strong>{names}</strong>. These units are missing from every "
                           "result of this round.",
        "f_c_org": "The RC index went from {a} ({la}) to {b} ({lb}): <strong>{diff}</strong> points "
                   "(Hedges' g {g}, 95 % CI {glo} to {ghi}; n = {na} / {nb}).",
        "f_c_sig": "The change is statistically significant after correction for many tests (FDR), and the "
                   "effect is {size}.",
        "f_c_nsig": "The change is <strong>not</strong> statistically significant after correction for many "
                    "tests (FDR); it may be due to chance.",
        "f_c_hidden": "The change in the organisation's RC index cannot be shown (too few respondents).",
        "f_c_ties": "Of {n} visible ties, {sig} changed significantly after FDR ({up} up, {down} down); for the "
                    "other {rest} no change can be detected.",
        "f_c_blocks_sig": "Significant changes in blocks: {list}.",
        "f_c_blocks_none": "No block changed significantly after FDR.",
        "f_c_did": "The difference-in-differences estimate for ties between base units that share a network in "
                   "{lb} is <strong>{est}</strong> points (95 % CI {lo} to {hi}): on average their ties changed "
                   "by this much more than other ties between base units.",
        "f_c_did_zero": "The difference-in-differences estimate for ties between base units that share a network "
                        "is {est} points (95 % CI {lo} to {hi}); the interval includes 0, so no difference can "
                        "be detected.",
        "f_c_did_caveat": "This is an association under the model's assumptions, not proof of what caused it.",
        "f_c_sens": "With units present in both rounds only: {est} (95 % CI {lo} to {hi}).",
        "f_c_anon": "The rounds are anonymous: the people answering need not be the same, and changes can also "
                    "reflect who answered.",
        "size_very_small": "very small", "size_small": "small", "size_moderate": "moderate", "size_large": "large",
        "unit": "Unit", "code": "Code", "kind": "Kind", "area": "Area", "base": "Base unit",
        "network": "Network", "within": "Within", "between": "Rating others", "received": "Received",
        "n": "n", "rc": "RC", "communication": "Communication", "relationship": "Relationship",
        "block": "Block", "n_respondents": "Respondents", "group_a": "Group A", "group_b": "Group B",
        "a_to_b": "A → B", "b_to_a": "B → A", "mean_both": "Mean", "difference": "Difference (A − B)",
        "weakest_pairs": "The weakest connections (both directions)",
        "strongest_pairs": "The strongest connections (both directions)",
        "all_ties": "All ties (click to expand)", "rater": "Group answering", "target": "Group rated",
        "ci": "95 % CI", "band": "Strength", "weakest_dim": "Weakest dimension",
        "weak": "weak", "moderate": "moderate", "strong": "strong",
        "units_note": "Within: how the unit's own staff rate coordination inside the unit. Rating others: how "
                      "the unit's staff rate the other groups. Received: how other groups rate the unit.",
        "blocks_note": "A respondent in a network also counts as a rater for the network, so respondent counts "
                       "of the blocks do not add up.",
        "measure": "Measure", "scope": "Basis", "value": "Value", "explanation": "What does it mean?",
        "rel_intro": "These numbers tell whether it makes sense to talk about group scores: whether the questions "
                     "hang together and whether people in the same group answer alike.",
        "rel_alpha_listwise": "Cronbach's alpha (complete answers only)", "rel_alpha_pairwise":
        "Cronbach's alpha (pairwise)", "rel_icc1": "ICC(1)", "rel_icc2": "ICC(2)", "rel_icc1_k0":
        "ICC(1), adjusted k",
        "exp_alpha": "Do the questions hang together? Above 0.70 is usually considered sufficient.",
        "exp_icc1": "How much of the differences between answers is due to which unit a person is in.",
        "exp_icc2": "How reliably the unit means tell the units apart (above 0.70 is good).",
        "scope_all_ties": "all ties", "scope_respondent_means": "respondent means",
        "scope_communication": "communication", "scope_relationship": "relationship",
        "scope_rater_unit": "base units",
        "agreement": "Agreement within groups, rwg(j): median {median} over {n} visible ties; {share} reach at "
                     "least 0.70 (a contested rule of thumb for sufficient agreement).",
        "negative_flag": "negative value: no measurable difference between units",
        "records_in": "Records in the export", "valid": "Valid", "quarantined": "Set aside (quarantined)",
        "warned": "With a warning", "rate": "Response rate", "invited": "Invited",
        "answers": "Answers about groups: valid / don't know / not answered",
        "by_rule": "Why records were set aside", "rule": "Reason", "count": "Count",
        "per_unit": "Respondents per base unit", "respondents": "Respondents",
        "response_note": "Units with fewer than {k} respondents are shown as \"< {k}\"; \"–\": the count is "
                         "hidden so that a small unit's count cannot be worked out from the total.",
        "round": "Round", "baseline": "Before", "followup": "After",
        "dont_know_share": "Don't know (share of answers)", "blank_share": "Not answered (share of answers)",
        "mean_a": "Before", "mean_b": "After", "diff": "Change", "g": "Hedges' g (95 % CI)", "p_fdr": "p (FDR)",
        "verdict": "Verdict", "sig": "significant", "nsig": "not significant", "level": "Level",
        "unit_between": "Rating others", "unit_received": "Received", "unit_within": "Within",
        "top_changes": "The {n} ties with the largest change", "changes_note": "Change = after − before. "
        "Significant means p < 0.05 after Benjamini–Hochberg correction for many tests. Hedges' g: below 0.2 "
        "very small, 0.2–0.5 small, 0.5–0.8 moderate, above 0.8 large (Cohen's convention).",
        "model": "Model", "term": "Term", "estimate": "Estimate", "p": "p", "n_obs": "Observations",
        "model_note": "Note", "model_intro": "Mixed models of respondents' tie scores (1–5) with random effects "
        "for the group answering and the group rated.",
        "m_round": "Change from before to after (all ties)", "m_round_respondent":
        "Change from before to after, with respondent effect", "m_network_did":
        "Difference in differences: share a network", "m_network_did_respondent":
        "Difference in differences, with respondent effect",
        "m_block_base_network": "Change towards networks minus change towards base units",
        "m_sensitivity_round": "Sensitivity: units in both rounds only (change)",
        "m_sensitivity_network_did": "Sensitivity: units in both rounds only (difference in differences)",
        "methods_round": "Every respondent rates every group (their own included) on seven questions from 1 to 5 "
                         "(Gittell's Relational Coordination Survey). A respondent's RC score about a group is the "
                         "mean of the questions when at least {min_items} of {n_items} are answered; "
                         "communication is the mean of the four communication questions, relationship of the "
                         "three relationship questions. \"Don't know\" and blanks do not count. A tie A → B is "
                         "the mean over the respondents in A of their score about B, with a 95 % confidence "
                         "interval ({ci}). A respondent in a network also counts as a rater for the network. The "
                         "organisation index is the mean of the respondents' indices (each person once).",
        "methods_bands": "Strength bands: weak below {weak}, moderate {weak}–{strong}, strong above {strong} "
                         "(a convention, configurable).",
        "methods_privacy": "No statistic rests on fewer than {k} respondents. A few other figures are hidden to "
                           "protect a small group: a check of every figure shown proves that no figure about a small "
                           "group can be worked out from them, and hides first what can be recomputed from other "
                           "figures shown (received, rating others, blocks, networks).",
        "methods_reliability": "Cronbach's alpha with Feldt's confidence interval (complete answers and pairwise); "
                               "ICC(1) and ICC(2) after Bliese (2000) from a one-way ANOVA with k = mean group "
                               "size; rwg(j) after James, Demaree & Wolf (1984) with a uniform null variance.",
        "methods_compare": "Unpaired comparisons (anonymous rounds): Welch t-test of respondents' scores per "
                           "organisation, block, unit and tie, Mann–Whitney U as a robustness check, effect size "
                           "Hedges' g with a confidence interval ({gci}), and Benjamini–Hochberg (FDR) correction "
                           "for many tests within each level and measure.",
        "methods_model": "Mixed model (REML): score ~ round + (1 | group answering) + (1 | group rated), also with "
                         "(1 | respondent). The network effect is the difference-in-differences term round × "
                         "shares_network in a model of ties between different base units, where shares_network "
                         "means the two units are in a common network in the later round. Confidence intervals and "
                         "p values are Wald-based.",
        "methods_nocause": "The results describe differences and associations; they do not prove causes.",
        "software": "Software", "package": "Package", "version": "Version",
        "files": "Export files", "path": "File", "sha256": "SHA-256", "bytes": "Bytes",
        "config_hash": "Settings behind this report (SHA-256, as in provenance.json)", "other": "Other", "not_installed": "not installed",
        "figure_missing": "The figure is missing.", "yes": "yes", "no": "no",
        "rule_code_out_of_range": "invalid answer code", "rule_duplicate_respondent_id":
        "same respondent more than once", "rule_missing_respondent_id": "missing respondent id",
        "rule_unknown_unit": "unknown unit",
        "footer": "Made with relcoord {version}. The report is a self-contained file without network access.",
    },
}

SOFTWARE = ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "seaborn", "networkx", "jinja2", "pandera",
            "snakemake", "relcoord")
ROUND_TABLES = ("ties", "units", "blocks", "edges", "organisation", "reliability", "agreement")

# --------------------------------------------------------------------------- helpers


def software_versions() -> dict[str, str]:
    """Python and package versions (importlib.metadata; nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in SOFTWARE:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = ""
    return out


def embed_png(figure: Any) -> str | None:
    """A ``data:image/png;base64,...`` URI from a PNG path, PNG bytes or a matplotlib Figure."""
    if figure is None:
        return None
    if isinstance(figure, (str, Path)):
        p = Path(figure)
        if p.suffix.lower() != ".png":
            p = p.with_suffix(".png")
        if not p.exists():
            return None
        data = p.read_bytes()
    elif isinstance(figure, (bytes, bytearray)):
        data = bytes(figure)
    else:                                              # a Figure
        buf = io.BytesIO()
        figure.savefig(buf, format="png", dpi=150, metadata={"Software": None})
        data = buf.getvalue()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("embed_png: not a PNG image")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _settings(cfg: Mapping[str, Any] | None, lang: str | None) -> tuple[str, int, dict[str, float], str]:
    cfg = cfg or {}
    rep = cfg.get("report") or {}
    lang = lang or str(rep.get("language", "da"))
    if lang not in TEXT:
        raise ValueError(f"report language must be one of {sorted(TEXT)}, got {lang!r}")
    k = int((cfg.get("privacy") or {}).get("min_group_size", 5))
    bands = {"weak_below": 3.5, "strong_above": 4.0, **dict(((cfg.get("scoring") or {}).get("bands") or {}))}
    title = str(rep.get("title") or "")
    if not title or title in {v["default_title"] for v in TEXT.values()}:   # unset or the schema default
        title = TEXT[lang]["default_title"]
    return lang, k, bands, title


class _Fmt:
    """Number formatting bound to a language and k (hidden values -> "–", small counts -> "< k")."""

    def __init__(self, lang: str, k: int):
        self.lang, self.k = lang, k
        self.hidden_used = False

    def num(self, x: Any, digits: int = 2, sign: bool = False) -> str:
        s = fmt_num(x, self.lang, digits, sign)
        if s == "–":
            self.hidden_used = True
        return s

    def count(self, n: Any) -> str:
        try:
            v = float(n)
        except (TypeError, ValueError):
            self.hidden_used = True
            return "–"
        if not math.isfinite(v):
            self.hidden_used = True
            return "–"
        if v < self.k:
            return f"< {self.k}"
        return fmt_int(v, self.lang)

    def hidden_count(self, reason: Any) -> str:
        """The count column of a hidden cell: "< k" when it is hidden because fewer than k answered
        (``primary``), "–" when it is hidden to protect a small group (secondary/complementary)."""
        self.hidden_used = True
        return f"< {self.k}" if str(reason) == "primary" else "–"

    def ci(self, lo: Any, hi: Any, digits: int = 2) -> str:
        """"3.58–3.66"; with a negative bound "−0.10 to 0.20" (a dash would read as a minus)."""
        a, b = fmt_num(lo, self.lang, digits), fmt_num(hi, self.lang, digits)
        if a == "–" or b == "–":
            return "–"
        if a.startswith("−") or b.startswith("−"):
            return f"{a} {'til' if self.lang == 'da' else 'to'} {b}"
        return f"{a}–{b}"

    def p(self, p: Any) -> str:
        try:
            v = float(p)
        except (TypeError, ValueError):
            return "–"
        if not math.isfinite(v):
            return "–"
        if v < 0.001:
            return "< " + fmt_num(0.001, self.lang, 3)
        return fmt_num(v, self.lang, 3)

    def pct(self, x: float, digits: int = 0) -> str:
        s = fmt_num(100 * x, self.lang, digits)
        return s + (" %" if self.lang == "da" else "%")


def _cell(text: Any, cls: str = "") -> dict[str, Any]:
    return {"text": text, "cls": cls}


def _table(headers: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]], caption: str | None = None,
           note: str | None = None) -> dict[str, Any]:
    """A table for the template: headers [(text, "num"|"")], rows of cells (str or _cell dicts)."""
    body = []
    for r in rows:
        cells = []
        for (_, cls), c in zip(headers, r):
            cells.append(c if isinstance(c, dict) else _cell(c, cls))
        body.append(cells)
    return {"headers": [{"text": h, "cls": c} for h, c in headers], "rows": body, "caption": caption,
            "note": note}


def _unit_name(uid: str, names: Mapping[str, str]) -> str:
    return f"{names.get(uid, uid)} ({uid})" if names.get(uid, uid) != uid else uid


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    return env


def _figures_ctx(figures: Mapping[str, Any] | None, names: Sequence[str], caps: Mapping[str, str],
                 t: Mapping[str, str]) -> list[dict[str, Any]]:
    out = []
    figures = dict(figures or {})
    for name in list(names) + [n for n in figures if n not in names]:
        if name not in figures:
            continue
        uri = embed_png(figures[name])
        out.append({"id": f"fig-{name}", "uri": uri, "caption": caps.get(name, ""), "missing": t["figure_missing"]})
    return out


def _provenance_ctx(provenance: Mapping[str, Any] | None, summaries: Sequence[Mapping[str, Any]], f: _Fmt,
                    t: Mapping[str, str]) -> dict[str, Any]:
    prov = dict(provenance or {})
    files = list(prov.pop("files", []) or [])
    for s in summaries:
        files += list(s.get("files") or [])
    seen, rows = set(), []
    for fi in files:
        key = (fi.get("path"), fi.get("sha256"))
        if key in seen:
            continue
        seen.add(key)
        rows.append([Markup("<code>{}</code>").format(fi.get("path", "")),
                     Markup("<code class=\"hash\">{}</code>").format(fi.get("sha256", "")),
                     fmt_int(fi.get("bytes"), f.lang) if fi.get("bytes") is not None else "–"])
    chash = prov.pop("settings_sha256", None) or prov.pop("config_sha256", None) or prov.pop("config_hash", None)
    versions = prov.pop("software", None) or software_versions()
    soft = [[k_, v or t["not_installed"]] for k_, v in versions.items()]
    other = [[str(k_), json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, (dict, list)) else str(v)]
             for k_, v in prov.items()]
    return {
        "files": _table([(t["path"], ""), (t["sha256"], ""), (t["bytes"], "num")], rows) if rows else None,
        "config_hash": chash,
        "software": _table([(t["package"], ""), (t["version"], "")], soft),
        "other": _table([("", ""), ("", "")], other) if other else None,
    }


# --------------------------------------------------------------------------- round report


def _visible(df: pd.DataFrame | None, k: int, **kw) -> pd.DataFrame:
    if df is None or not len(df):
        return pd.DataFrame() if df is None else df.iloc[0:0]
    return df[visible_rows(df, k, **kw)]


def round_findings(tables: Mapping[str, pd.DataFrame], units: pd.DataFrame, instrument: Any,
                   cfg: Mapping[str, Any] | None = None, lang: str | None = None) -> list[Markup]:
    """Plain-language key findings of a round, from the reader-facing tables only."""
    lang, k, bands, _ = _settings(cfg, lang)
    t = TEXT[lang]
    f = _Fmt(lang, k)
    names = _names(units)
    out: list[Markup] = []

    def say(key: str, **kw) -> None:
        out.append(Markup(t[key]).format(**kw))

    org = tables.get("organisation")
    orgv = _visible(org, k, value_cols=("mean",)).set_index("measure") if org is not None else pd.DataFrame()
    if "rc" in orgv.index:
        r = orgv.loc["rc"]
        say("f_org", mean=f.num(r["mean"]), lo=f.num(r["ci_low"]), hi=f.num(r["ci_high"]), n=f.count(r["n"]),
            band=t[band_of(r["mean"], bands)])
    else:
        say("f_org_hidden")
    if {"communication", "relationship"} <= set(orgv.index):
        c, r = orgv.loc["communication"], orgv.loc["relationship"]
        if c["ci_high"] < r["ci_low"] or r["ci_high"] < c["ci_low"]:
            say("f_sub_diff", comm=f.num(c["mean"]), rel=f.num(r["mean"]),
                word=t["lower"] if c["mean"] < r["mean"] else t["higher"])
        else:
            say("f_sub_same", comm=f.num(c["mean"]), rel=f.num(r["mean"]))
    items = [i for i in instrument.index_keys if i in orgv.index]
    if len(items) >= 2:
        s = orgv.loc[items, "mean"].astype(float).sort_values(kind="mergesort")
        say("f_items", weak_item=measure_label(s.index[0], lang, instrument), weak=f.num(s.iloc[0]),
            strong_item=measure_label(s.index[-1], lang, instrument), strong=f.num(s.iloc[-1]))
    blocks = tables.get("blocks")
    if blocks is not None and len(blocks):
        bv = _visible(blocks, k, n_cols=("n_respondents",), value_cols=("rc_mean",)).set_index("block")["rc_mean"]
        if {"within_base", "base_to_base"} <= set(bv.index):
            say("f_within", within=f.num(bv["within_base"]), between=f.num(bv["base_to_base"]),
                to_net=f.num(bv.get("base_to_network", np.nan)))
    edges = tables.get("edges")
    if edges is not None and len(edges):
        ev = edges[visible_rows(edges, k, n_cols=("n_a_to_b", "n_b_to_a"), value_cols=("a_to_b", "b_to_a"))]
        if len(ev):
            ev = ev.assign(symmetric_rc=(pd.to_numeric(ev["a_to_b"]) + pd.to_numeric(ev["b_to_a"])) / 2)
            ev = ev.sort_values(["symmetric_rc", "unit_a", "unit_b"], kind="mergesort")
            for key, row in (("f_weakest", ev.iloc[0]), ("f_strongest", ev.iloc[-1])):
                a, b = str(row["unit_a"]), str(row["unit_b"])
                say(key, a=names.get(a, a), b=names.get(b, b), a_id=a, b_id=b, ab=f.num(row["a_to_b"]),
                    ba=f.num(row["b_to_a"]))
            d = (pd.to_numeric(ev["a_to_b"]) - pd.to_numeric(ev["b_to_a"])).abs()
            row = ev.loc[d.sort_values(ascending=False, kind="mergesort").index[0]]
            a, b = str(row["unit_a"]), str(row["unit_b"])
            if row["a_to_b"] < row["b_to_a"]:
                a, b = b, a
                ab, ba = row["b_to_a"], row["a_to_b"]
            else:
                ab, ba = row["a_to_b"], row["b_to_a"]
            say("f_asym", a_id=a, b_id=b, ab=f.num(ab), ba=f.num(ba), diff=f.num(abs(ab - ba)))
    ties = tables.get("ties")
    if ties is not None and len(ties):
        tv = ties[visible_rows(ties, k, value_cols=("rc_mean",))]
        off = tv[tv["rater_unit"].astype(str) != tv["target_unit"].astype(str)]
        bands_ = [band_of(v, bands) for v in off["rc_mean"]]
        say("f_counts", n=fmt_int(len(off), lang), weak=fmt_int(bands_.count("weak"), lang),
            moderate=fmt_int(bands_.count("moderate"), lang), strong=fmt_int(bands_.count("strong"), lang))
        hidden = len(ties) - len(tv)
        if hidden:
            why = ties["suppression"].fillna("").astype(str) if "suppression" in ties.columns else pd.Series("")
            protect = int(why.isin(["secondary", "complementary"]).sum())
            say("f_hidden", hidden=fmt_int(hidden, lang), total=fmt_int(len(ties), lang), k=k,
                small=fmt_int(hidden - protect, lang), protect=fmt_int(protect, lang))
    say("f_caution")
    return out


def validation_findings(summary: Mapping[str, Any], units: pd.DataFrame | None, lang: str) -> list[Markup]:
    """The headline's validation lines: how many records were set aside and which base units have no
    valid respondent (whatever ``validation.max_quarantined_fraction`` allows); none when neither."""
    t = TEXT[lang]
    s = summary or {}
    out: list[Markup] = []
    n = int(s.get("records_set_aside", s.get("quarantined", 0)) or 0)
    if n:
        out.append(Markup(t["f_set_aside"]).format(n=fmt_int(n, lang), total=fmt_int(s.get("records_in", 0), lang)))
    missing = [str(u) for u in s.get("missing_units") or []]
    if missing:
        names = {**(_names(units) if units is not None else {}), **(s.get("missing_unit_names") or {})}
        out.append(Markup(t["f_missing_units"]).format(names=", ".join(str(names.get(u, u)) for u in missing)))
    return out


def _respondent_counts(summary: Mapping[str, Any], units: pd.DataFrame, k: int) -> dict[str, int | None]:
    """Base unit -> respondents (validation summary) as a reader may see them
    (:func:`relcoord.privacy.summary_for_readers`: None when fewer than k, or
    hidden by secondary suppression)."""
    shown, _ = _respondent_counts_why(summary, units, k)
    return shown


def _respondent_counts_why(summary: Mapping[str, Any], units: pd.DataFrame, k: int
                           ) -> tuple[dict[str, int | None], dict[str, str]]:
    """(unit -> count or None, unit -> why hidden: "primary" (< k) | "secondary" | "hidden")."""
    s = summary_for_readers(summary, k)
    per = {str(u): n for u, n in (s.get("respondents_per_unit") or {}).items()}
    why = {str(u): str(r) for u, r in (s.get("respondents_per_unit_hidden") or {}).items()}
    kinds = dict(zip(units["unit_id"].astype(str), units["kind"].astype(str))) if units is not None else {}
    in_round = set(per) | {str(x) for x in summary.get("targets") or []}
    order = [u for u in unit_order(units, per) if kinds.get(u, "base") != "network"
             and (u in in_round or not summary.get("targets"))]
    shown = {u: (int(per[u]) if per.get(u) is not None else None) for u in order}
    return shown, {u: (why.get(u, "primary") if u in per else "primary") for u in order if shown[u] is None}


def _response_ctx(summary: Mapping[str, Any], units: pd.DataFrame, f: _Fmt, t: Mapping[str, str],
                  invited: int | None) -> dict[str, Any]:
    s = summary or {}
    rec_in, valid = int(s.get("records_in", 0)), int(s.get("valid", 0))
    kpis = [(t["records_in"], fmt_int(rec_in, f.lang)), (t["valid"], fmt_int(valid, f.lang)),
            (t["quarantined"], fmt_int(s.get("quarantined", 0), f.lang)),
            (t["warned"], fmt_int(s.get("warned", 0), f.lang))]
    if invited:
        kpis.append((t["rate"], f.pct(valid / invited)))
    a = s.get("answers") or {}
    answers = " / ".join(fmt_int(a.get(x, 0), f.lang) for x in ("valid", "dont_know", "blank"))
    rules = [[t.get(f"rule_{r}", r), fmt_int(n, f.lang)] for r, n in sorted((s.get("failures_by_rule") or {}).items())]
    counts, why = _respondent_counts_why(s, units, f.k)
    names = _names(units)
    per = [[_unit_name(u, names), fmt_int(n, f.lang) if n is not None else f"< {f.k}" if why.get(u) == "primary"
            else "–"] for u, n in counts.items()]
    return {"kpis": kpis, "answers": answers,
            "rules": _table([(t["rule"], ""), (t["count"], "num")], rules) if rules else None,
            "per_unit": _table([(t["unit"], ""), (t["respondents"], "num")], per, note=t["response_note"].format(
                k=f.k))}


def _weakest_dim(row: Mapping[str, Any], items: Sequence[str], lang: str, instrument: Any) -> str:
    vals = [(float(row[i]), i) for i in items if i in row and pd.notna(row[i])]
    if not vals:
        return "–"
    return measure_label(min(vals)[1], lang, instrument)


def round_report(round_id: str, label: str, tables: Mapping[str, pd.DataFrame], summary: Mapping[str, Any],
                 figures: Mapping[str, Any] | None, units: pd.DataFrame, instrument: Any, cfg: Mapping[str, Any],
                 provenance: Mapping[str, Any] | None = None, *, lang: str | None = None,
                 invited: int | None = None, n_pairs: int = 10) -> str:
    """The round's report.html as a string.

    ``tables``: reader-facing ``ties, units, blocks, edges, organisation,
    reliability, agreement`` (results/R/scores/*.csv); ``summary``:
    validation/summary.json; ``figures``: stem -> PNG path (or bytes/Figure),
    stems :data:`relcoord.figures.ROUND_FIGURES`; ``units``: the unit register
    of the round; ``cfg``: the workflow config (report.language, privacy,
    scoring); ``provenance``: e.g. ``{"config_sha256": ..., "software":
    software_versions()}`` plus any key -> value to list (export files come
    from ``summary["files"]``); ``invited`` defaults to
    ``cfg["rounds"][round_id]["invited"]``."""
    lang, k, bands, title = _settings(cfg, lang)
    t = TEXT[lang]
    f = _Fmt(lang, k)
    names = _names(units)
    if invited is None:
        invited = ((cfg.get("rounds") or {}).get(str(round_id)) or {}).get("invited")
    scoring = cfg.get("scoring") or {}
    items = list(instrument.index_keys)
    caps = captions(lang, k, bands)
    bw = {"weak": fmt_num(bands["weak_below"], lang, 1), "strong": fmt_num(bands["strong_above"], lang, 1)}
    findings = validation_findings(summary, units, lang) + round_findings(tables, units, instrument, cfg, lang)

    org = tables.get("organisation")
    orgv = _visible(org, k, value_cols=("mean",)).set_index("measure") if org is not None else pd.DataFrame()
    ties = tables.get("ties", pd.DataFrame())
    tv = ties[visible_rows(ties, k, value_cols=("rc_mean",))] if len(ties) else ties
    kpis = [(t["kpi_rc"], f.num(orgv.loc["rc", "mean"]) if "rc" in orgv.index else "–"),
            (t["kpi_respondents"], fmt_int(summary.get("valid"), lang))]
    if invited:
        kpis.append((t["kpi_rate"], f.pct(int(summary.get("valid", 0)) / invited)))
    kpis.append((t["kpi_ties"], f"{fmt_int(len(tv), lang)} / {fmt_int(len(ties), lang)}"))

    # units
    u = tables.get("units")
    unit_rows = []
    if u is not None and len(u):
        uu = u.copy()
        uu["unit_id"] = uu["unit_id"].astype(str)
        uu = uu.set_index("unit_id").reindex(unit_order(units, uu["unit_id"]))
        for uid, r in uu.iterrows():
            row = [_unit_name(uid, names), t["network"] if r.get("kind") == "network" else t["base"],
                   "" if pd.isna(r.get("area")) else str(r.get("area"))]
            for part in ("within", "between", "received"):
                hide = _as_bool(pd.Series([r.get(f"{part}_suppressed", False)])).iloc[0] or not (
                    pd.to_numeric(pd.Series([r.get(f"{part}_n")]), errors="coerce").iloc[0] >= k)
                v = np.nan if hide else r.get(f"{part}_rc")
                row += [_band_cell(v, bands, f), f.hidden_count(r.get(f"{part}_suppression", "")) if hide
                        else f.count(r.get(f"{part}_n"))]
            unit_rows.append(row)
    units_table = _table([(t["unit"], ""), (t["kind"], ""), (t["area"], ""), (t["within"], "num"), (t["n"], "num"),
                          (t["between"], "num"), (t["n"], "num"), (t["received"], "num"), (t["n"], "num")],
                         unit_rows, note=t["units_note"])
    # blocks
    b = tables.get("blocks")
    block_rows = []
    if b is not None and len(b):
        bvis = visible_rows(b, k, n_cols=("n_respondents",), value_cols=("rc_mean",))
        for (_, r), ok in zip(b.iterrows(), bvis):
            block_rows.append([block_label(r["block"], lang), _band_cell(r["rc_mean"] if ok else np.nan, bands, f),
                               f.num(r.get("communication") if ok else np.nan),
                               f.num(r.get("relationship") if ok else np.nan),
                               f.count(r.get("n_respondents")) if ok else f.hidden_count(r.get("suppression", ""))])
    blocks_table = _table([(t["block"], ""), (t["rc"], "num"), (t["communication"], "num"),
                           (t["relationship"], "num"), (t["n_respondents"], "num")], block_rows, note=t["blocks_note"])
    # pairs from edges: weakest / strongest, both directions side by side
    e = tables.get("edges")
    pair_tables = []
    if e is not None and len(e):
        ev = e[visible_rows(e, k, n_cols=("n_a_to_b", "n_b_to_a"), value_cols=("a_to_b", "b_to_a"))].copy()
        ev["sym"] = (pd.to_numeric(ev["a_to_b"]) + pd.to_numeric(ev["b_to_a"])) / 2
        ev = ev.sort_values(["sym", "unit_a", "unit_b"], kind="mergesort")
        hdr = [(t["group_a"], ""), (t["group_b"], ""), (t["a_to_b"], "num"), (t["n"], "num"), (t["b_to_a"], "num"),
               (t["n"], "num"), (t["mean_both"], "num"), (t["difference"], "num")]
        for key, part in (("weakest_pairs", ev.head(n_pairs)), ("strongest_pairs", ev.tail(n_pairs).iloc[::-1])):
            rows = [[_unit_name(str(r["unit_a"]), names), _unit_name(str(r["unit_b"]), names),
                     _band_cell(r["a_to_b"], bands, f), f.count(r["n_a_to_b"]), _band_cell(r["b_to_a"], bands, f),
                     f.count(r["n_b_to_a"]), f.num(r["sym"]), f.num(r["a_to_b"] - r["b_to_a"], sign=True)]
                    for _, r in part.iterrows()]
            pair_tables.append(_table(hdr, rows, caption=t[key]))
    # all ties
    all_rows = []
    if len(ties):
        tt = ties.copy()
        tt["rater_unit"], tt["target_unit"] = tt["rater_unit"].astype(str), tt["target_unit"].astype(str)
        vis = visible_rows(tt, k, value_cols=("rc_mean",))
        order = {uid: i for i, uid in enumerate(unit_order(units, set(tt["rater_unit"]) | set(tt["target_unit"])))}
        tt["_o"] = [order.get(r, 0) * 10000 + order.get(c, 0) for r, c in zip(tt["rater_unit"], tt["target_unit"])]
        tt["_vis"] = vis
        for _, r in tt.sort_values("_o", kind="mergesort").iterrows():
            ok = bool(r["_vis"])
            all_rows.append([_unit_name(r["rater_unit"], names), _unit_name(r["target_unit"], names),
                             _band_cell(r["rc_mean"] if ok else np.nan, bands, f),
                             f.ci(r.get("ci_low"), r.get("ci_high")) if ok else "–",
                             f.count(r["n"]) if ok else f.hidden_count(r.get("suppression", "")),
                             f.num(r.get("communication") if ok else np.nan),
                             f.num(r.get("relationship") if ok else np.nan),
                             _weakest_dim(r, items, lang, instrument) if ok else "–"])
    all_ties = _table([(t["rater"], ""), (t["target"], ""), (t["rc"], "num"), (t["ci"], "num"), (t["n"], "num"),
                       (t["communication"], "num"), (t["relationship"], "num"), (t["weakest_dim"], "")], all_rows)
    # reliability
    rel = tables.get("reliability")
    rel_rows = []
    if rel is not None and len(rel):
        rv = visible_rows(rel, k, value_cols=("value",))
        for (_, r), ok in zip(rel.iterrows(), rv):
            m = str(r["measure"])
            if m not in ("alpha_listwise", "alpha_pairwise", "icc1", "icc2"):
                continue
            exp = t["exp_alpha"] if m.startswith("alpha") else t["exp_" + m]
            val = f.num(r["value"] if ok else np.nan)
            if ok and pd.notna(r.get("flag")) and str(r.get("flag")) not in ("", "nan"):
                exp += f" ({t['negative_flag']})" if "negative" in str(r.get("flag")) else f" ({r.get('flag')})"
            rel_rows.append([t.get("rel_" + m, m), t.get("scope_" + str(r["scope"]), str(r["scope"])), val,
                             f.ci(r.get("ci_low"), r.get("ci_high")) if ok else "–", f.count(r["n"] if ok else np.nan),
                             exp])
    rel_table = _table([(t["measure"], ""), (t["scope"], ""), (t["value"], "num"), (t["ci"], "num"),
                        (t["n"], "num"), (t["explanation"], "")], rel_rows)
    agreement = None
    ag = tables.get("agreement")
    if ag is not None and len(ag) and len(tv):
        a = ag.copy()
        a["rater_unit"], a["target_unit"] = a["rater_unit"].astype(str), a["target_unit"].astype(str)
        a = a[visible_rows(a, k, value_cols=("rwg_j",))]
        keep = set(zip(tv["rater_unit"].astype(str), tv["target_unit"].astype(str)))
        a = a[[(x, y) in keep for x, y in zip(a["rater_unit"], a["target_unit"])]]
        if len(a):
            r = pd.to_numeric(a["rwg_j"])
            agreement = t["agreement"].format(median=f.num(r.median()), n=fmt_int(len(r), lang),
                                              share=f.pct(float((r >= 0.70).mean())))
    ci_method = str(ties["ci_method"].dropna().iloc[0]) if "ci_method" in ties.columns and \
        ties["ci_method"].notna().any() else "t"
    ci_text = {"t": "t-interval", "bootstrap": "percentile bootstrap"}.get(ci_method, ci_method)
    if lang == "da":
        ci_text = {"t": "t-fordeling", "bootstrap": "percentil-bootstrap"}.get(ci_method, ci_method)
    methods = [t["methods_round"].format(min_items=scoring.get("min_items", 6), n_items=len(items), ci=ci_text),
               t["methods_bands"].format(**bw), t["methods_privacy"].format(k=k), t["methods_reliability"]]
    ctx = {
        "lang": lang, "t": t, "title": title, "subtitle": f"{t['round_report']}: {label}",
        "doc_title": f"{title} – {label}", "kind": "round", "sections": ROUND_SECTIONS,
        "how_to_read": t["how_to_read"].format(**bw), "kpis": kpis, "findings": findings,
        "figures": _figures_ctx(figures, ROUND_FIGURES, caps, t),
        "response": _response_ctx(summary, units, f, t, invited),
        "units_table": units_table, "blocks_table": blocks_table, "pair_tables": pair_tables,
        "all_ties": all_ties, "rel_intro": t["rel_intro"], "rel_table": rel_table, "agreement": agreement,
        "methods": methods, "provenance": _provenance_ctx(provenance, [summary], f, t),
        "hidden_note": t["hidden_note"].format(k=k), "footer": t["footer"].format(version=_version()),
    }
    return _env().get_template("round_report.html.j2").render(**ctx)


def _band_cell(v: Any, bands: Mapping[str, float], f: _Fmt) -> dict[str, Any]:
    s = f.num(v)
    band = band_of(v, bands)
    return _cell(s, "num" + (f" band-{band}" if band else " hidden"))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("relcoord")
    except PackageNotFoundError:
        return "dev"


# --------------------------------------------------------------------------- comparison report


def _effect_size_word(g: float, t: Mapping[str, str]) -> str:
    a = abs(g)
    return t["size_very_small"] if a < 0.2 else t["size_small"] if a < 0.5 else t["size_moderate"] if a < 0.8 \
        else t["size_large"]


def _sig(row: Mapping[str, Any]) -> bool:
    p = row.get("p_fdr")
    return p is not None and pd.notna(p) and float(p) < 0.05


def comparison_findings(changes: pd.DataFrame, model: pd.DataFrame | None, cfg: Mapping[str, Any] | None = None,
                        *, label_a: str = "A", label_b: str = "B", lang: str | None = None,
                        public_a: Mapping[str, pd.DataFrame] | None = None,
                        public_b: Mapping[str, pd.DataFrame] | None = None) -> list[Markup]:
    """Plain-language findings of a comparison (never causal beyond "the difference-in-differences estimate")."""
    lang, k, _, _ = _settings(cfg, lang)
    t = TEXT[lang]
    f = _Fmt(lang, k)
    out: list[Markup] = []

    def say(key: str, **kw) -> None:
        out.append(Markup(t[key]).format(**kw))

    c = change_visibility(changes, k, public_a, public_b)
    org = c[(c["level"] == "organisation") & (c["measure"] == "rc")]
    if len(org) and bool(org["visible"].iloc[0]):
        r = org.iloc[0]
        say("f_c_org", a=f.num(r["mean_a"]), b=f.num(r["mean_b"]), la=label_a, lb=label_b,
            diff=f.num(r["diff"], sign=True), g=f.num(r["hedges_g"], sign=True), glo=f.num(r["g_ci_low"]),
            ghi=f.num(r["g_ci_high"]), na=f.count(r["n_a"]), nb=f.count(r["n_b"]))
        if _sig(r):
            say("f_c_sig", size=_effect_size_word(r["hedges_g"], t))
        else:
            say("f_c_nsig")
    else:
        say("f_c_hidden")
    tie = c[(c["level"] == "tie") & (c["measure"] == "rc") & c["visible"]]
    if len(tie):
        sig = tie[tie["p_fdr"] < 0.05]
        up, down = int((sig["diff"] > 0).sum()), int((sig["diff"] < 0).sum())
        say("f_c_ties", n=fmt_int(len(tie), lang), sig=fmt_int(len(sig), lang), up=fmt_int(up, lang),
            down=fmt_int(down, lang), rest=fmt_int(len(tie) - len(sig), lang))
    blk = c[(c["level"] == "block") & (c["measure"] == "rc") & c["visible"]]
    if len(blk):
        sig = blk[blk["p_fdr"] < 0.05]
        if len(sig):
            lst = "; ".join(f"{block_label(r.get('block', ''), lang)} {f.num(r['diff'], sign=True)}"
                            for _, r in sig.iterrows())
            say("f_c_blocks_sig", list=lst)
        else:
            say("f_c_blocks_none")
    did = did_estimate(model)
    if did is not None:
        kw = dict(est=f.num(did["estimate"], sign=True), lo=f.num(did["ci_low"], sign=True),
                  hi=f.num(did["ci_high"], sign=True), lb=label_b)
        say("f_c_did_zero" if did["ci_low"] <= 0 <= did["ci_high"] else "f_c_did", **kw)
        sens = did_estimate(model, ("sensitivity_network_did",))
        if sens is not None:
            say("f_c_sens", est=f.num(sens["estimate"], sign=True), lo=f.num(sens["ci_low"], sign=True),
                hi=f.num(sens["ci_high"], sign=True))
        say("f_c_did_caveat")
    say("f_c_anon")
    return out


def _change_row(r: Mapping[str, Any], label: str, f: _Fmt, t: Mapping[str, str]) -> list[Any]:
    if not r["visible"]:
        def n_hidden(n: Any) -> str:          # a count is shown only as "< k"; a hidden cell's count not at all
            return f.count(n) if pd.notna(n) and float(n) < f.k else "–"
        return [label, "–", "–", "–", "–", "–", n_hidden(r["n_a"]) + " / " + n_hidden(r["n_b"]), "–"]
    sig = _sig(r)
    g = f.num(r["hedges_g"], sign=True) + " (" + f.ci(r["g_ci_low"], r["g_ci_high"]) + ")"
    return [label, f.num(r["mean_a"]), f.num(r["mean_b"]),
            _cell(f.num(r["diff"], sign=True), "num " + ("up" if sig and r["diff"] > 0 else "down" if sig else "")),
            g, f.p(r["p_fdr"]), f.count(r["n_a"]) + " / " + f.count(r["n_b"]),
            _cell(t["sig"] if sig else t["nsig"], "sig" if sig else "nsig")]


def comparison_report(comparison_id: str, label_a: str, label_b: str, changes: pd.DataFrame,
                      model: pd.DataFrame | None, figures: Mapping[str, Any] | None, units: pd.DataFrame,
                      instrument: Any, cfg: Mapping[str, Any], provenance: Mapping[str, Any] | None = None, *,
                      lang: str | None = None, summaries: Mapping[str, Mapping[str, Any]] | None = None,
                      public_a: Mapping[str, pd.DataFrame] | None = None,
                      public_b: Mapping[str, pd.DataFrame] | None = None, top_ties: int = 20) -> str:
    """The comparison's report.html as a string.

    ``changes``/``model``: results/comparisons/A_vs_B/changes.csv and
    model.csv; ``figures``: stem -> PNG (stems
    :data:`relcoord.figures.COMPARISON_FIGURES`); ``summaries``: the rounds'
    validation summary.json keyed by round id (labels and ``invited`` from
    ``cfg["rounds"]``) for the response table and the export files;
    ``public_a`` / ``public_b``: the rounds' reader-facing tables (dicts with
    ``ties, units, blocks, organisation``): a cell hidden in either round is
    then shown "–" here too (:func:`relcoord.figures.change_visibility`);
    pass them, since changes.csv carries only primary suppression."""
    lang, k, bands, title = _settings(cfg, lang)
    t = TEXT[lang]
    f = _Fmt(lang, k)
    names = _names(units)
    caps = captions(lang, k, bands)
    c = change_visibility(changes, k, public_a, public_b)
    findings = comparison_findings(changes, model, cfg, label_a=label_a, label_b=label_b, lang=lang,
                                   public_a=public_a, public_b=public_b)
    hdr = [("", ""), (f"{t['mean_a']} ({label_a})", "num"), (f"{t['mean_b']} ({label_b})", "num"), (t["diff"], "num"),
           (t["g"], "num"), (t["p_fdr"], "num"), (t["n"], "num"), (t["verdict"], "")]

    def rows_for(d: pd.DataFrame, labeller) -> list[list[Any]]:
        return [_change_row(r, labeller(r), f, t) for r in d.to_dict("records")]

    org = c[c["level"] == "organisation"]
    order = ["rc", "communication", "relationship"] + [m for m in org["measure"] if
                                                        m not in ("rc", "communication", "relationship")]
    org = org.set_index("measure").reindex([m for m in dict.fromkeys(order) if m in set(org["measure"])]).reset_index()
    org_table = _table([(t["measure"], "")] + hdr[1:],
                       rows_for(org, lambda r: measure_label(r["measure"], lang, instrument)), note=t["changes_note"])
    blk = c[(c["level"] == "block") & (c["measure"] == "rc")]
    blocks_table = _table([(t["block"], "")] + hdr[1:],
                          rows_for(blk, lambda r: block_label(r.get("block") or "", lang)))
    unit_tables = []
    for lvl in ("unit_between", "unit_received", "unit_within"):
        d = c[(c["level"] == lvl) & (c["measure"] == "rc")]
        if not len(d):
            continue
        pos = {u: i for i, u in enumerate(unit_order(units, set(d["rater_unit"]) | set(d["target_unit"])))}
        d = d.iloc[np.argsort([pos.get(a or b, 0) for a, b in zip(d["rater_unit"], d["target_unit"])],
                              kind="stable")]
        unit_tables.append(_table([(t["unit"], "")] + hdr[1:],
                                  rows_for(d, lambda r: _unit_name(r["rater_unit"] or r["target_unit"], names)),
                                  caption=t[lvl]))
    tie = c[(c["level"] == "tie") & (c["measure"] == "rc")]
    tie_vis = tie[tie["visible"] & np.isfinite(tie["hedges_g"])]
    top = tie_vis.reindex(tie_vis["hedges_g"].abs().sort_values(ascending=False, kind="mergesort").index).head(top_ties)

    def tie_label(r):
        return f"{r['rater_unit']} → {r['target_unit']}"

    top_table = _table([(t["rater"] + " → " + t["target"], "")] + hdr[1:], rows_for(top, tie_label),
                       caption=t["top_changes"].format(n=len(top)))
    pos = {u: i for i, u in enumerate(unit_order(units, set(tie["rater_unit"]) | set(tie["target_unit"])))}
    tie_sorted = tie.iloc[np.argsort([pos.get(a, 0) * 10000 + pos.get(b, 0) for a, b in
                                      zip(tie["rater_unit"], tie["target_unit"])], kind="stable")]
    all_table = _table([(t["rater"] + " → " + t["target"], "")] + hdr[1:], rows_for(tie_sorted, tie_label))
    # models
    model_rows = []
    if model is not None and len(model):
        m = model.copy()
        keep_terms = {"round": "round", "round_respondent": "round", "network_did": "round:shares_network",
                      "network_did_respondent": "round:shares_network", "block_base_network": "round:to_network",
                      "sensitivity_round": "round", "sensitivity_network_did": "round:shares_network"}
        for name, term in keep_terms.items():
            r = m[(m["model"].astype(str) == name) & (m["term"].astype(str) == term)]
            if not len(r):
                r = m[(m["model"].astype(str) == name)]
                if not len(r):
                    continue
            r = r.iloc[0]
            model_rows.append([t.get("m_" + name, name), str(r.get("term", "")),
                               f.num(r.get("estimate"), sign=True), f.ci(r.get("ci_low"), r.get("ci_high")),
                               f.p(r.get("p")), fmt_int(r.get("n_obs"), lang),
                               _cell(str(r.get("note", "")) if pd.notna(r.get("note")) else "", "note")])
    model_table = _table([(t["model"], ""), (t["term"], ""), (t["estimate"], "num"), (t["ci"], "num"), (t["p"], "num"),
                          (t["n_obs"], "num"), (t["model_note"], "")], model_rows)
    # response overview for both rounds
    resp_rows = []
    summaries = dict(summaries or {})
    for rid, s in summaries.items():
        rcfg = (cfg.get("rounds") or {}).get(str(rid)) or {}
        inv = rcfg.get("invited")
        a = s.get("answers") or {}
        cells = int(a.get("cells", 0)) or 1
        resp_rows.append([str(rcfg.get("label") or rid), fmt_int(s.get("records_in"), lang), fmt_int(s.get("valid"), lang),
                          fmt_int(s.get("quarantined"), lang), fmt_int(s.get("warned"), lang),
                          f.pct(int(a.get("dont_know", 0)) / cells, 1), f.pct(int(a.get("blank", 0)) / cells, 1),
                          f.pct(int(s.get("valid", 0)) / inv) if inv else "–"])
    resp_table = _table([(t["round"], ""), (t["records_in"], "num"), (t["valid"], "num"), (t["quarantined"], "num"),
                         (t["warned"], "num"), (t["dont_know_share"], "num"), (t["blank_share"], "num"),
                         (t["rate"], "num")], resp_rows) if resp_rows else None
    gci = str(changes["g_ci_method"].dropna().iloc[0]) if "g_ci_method" in changes.columns and \
        changes["g_ci_method"].notna().any() else "analytic"
    org_rc = c[(c["level"] == "organisation") & (c["measure"] == "rc") & c["visible"]]
    kpis = []
    if len(org_rc):
        kpis.append((t["kpi_change"], f.num(org_rc["diff"].iloc[0], sign=True)))
    did = did_estimate(model)
    if did is not None:
        kpis.append((t["kpi_did"], f.num(did["estimate"], sign=True)))
    kpis.append((t["kpi_ties"], fmt_int(int(tie["visible"].sum()), lang)))
    ctx = {
        "lang": lang, "t": t, "title": title, "subtitle": f"{t['comparison_report']}: {label_a} → {label_b}",
        "doc_title": f"{title} – {label_a} → {label_b}", "kind": "comparison", "sections": COMPARISON_SECTIONS,
        "how_to_read": t["how_to_read"].format(weak=fmt_num(bands["weak_below"], lang, 1),
                                               strong=fmt_num(bands["strong_above"], lang, 1)),
        "kpis": kpis, "findings": findings, "figures": _figures_ctx(figures, COMPARISON_FIGURES, caps, t),
        "resp_table": resp_table, "org_table": org_table, "blocks_table": blocks_table, "unit_tables": unit_tables,
        "top_table": top_table, "all_table": all_table, "model_intro": t["model_intro"], "model_table": model_table,
        "methods": [t["methods_compare"].format(gci=gci), t["methods_model"], t["methods_privacy"].format(k=k),
                    t["methods_nocause"]],
        "provenance": _provenance_ctx(provenance, list(summaries.values()), f, t),
        "hidden_note": t["hidden_note"].format(k=k), "footer": t["footer"].format(version=_version()),
        "comparison_id": comparison_id,
    }
    return _env().get_template("comparison_report.html.j2").render(**ctx)


# --------------------------------------------------------------------------- index


def _entries(items: Iterable[Any]) -> list[dict[str, str]]:
    out = []
    for it in items or []:
        if isinstance(it, Mapping):
            d = {k_: str(v) for k_, v in it.items() if v is not None}
        else:
            it = list(it)
            d = {"id": str(it[0]), "label": str(it[1] if len(it) > 1 else it[0]),
                 "href": str(it[2] if len(it) > 2 else it[0])}
        d.setdefault("label", d.get("id", ""))
        d.setdefault("href", f"{d.get('id', '')}/report.html")
        out.append(d)
    return out


def index_page(rounds: Iterable[Any], comparisons: Iterable[Any], *, lang: str = "da",
               title: str | None = None, provenance_href: str | None = None,
               failed: Iterable[Mapping[str, str]] = ()) -> str:
    """results/index.html linking every round and comparison report.

    ``rounds`` / ``comparisons``: dicts ``{"id", "label", "href"}`` (``href``
    relative to results/, default ``<id>/report.html``; optional ``date``) or
    tuples ``(id, label, href)``; ``provenance_href``: link to the run's
    provenance record (results/provenance.json), if any; ``failed``: rounds and
    comparisons whose run stopped (``{"label", "step", "log", "stopped"}``;
    ``stopped`` false: not run because the run stopped earlier), listed
    without a link."""
    if lang not in TEXT:
        raise ValueError(f"language must be one of {sorted(TEXT)}, got {lang!r}")
    t = TEXT[lang]
    ctx = {"lang": lang, "t": t, "title": title or t["default_title"], "doc_title": (title or t["default_title"]),
           "rounds": _entries(rounds), "comparisons": _entries(comparisons), "provenance_href": provenance_href,
           "failed": [t["failed" if f.get("stopped", True) else "failed_not_run"].format(
               label=f["label"], step=t.get(f"step_{f['step']}", f["step"]), log=f.get("log", "")) for f in failed],
           "footer": t["footer"].format(version=_version())}
    return _env().get_template("index.html.j2").render(**ctx)
