"""A short, self-contained HTML page on a round's validation (Danish or English)."""

from __future__ import annotations

from html import escape

import pandas as pd

from .locales import group
from .validation import RULES

#: lang -> the page's texts (catalogue group ``validation``, relcoord/locales/<lang>.yaml)
TEXT = group("validation")


def _missing_names(summary: dict, accepted_note: str | None = None) -> str:
    """'Hjemmeplejen (HJP), ...' for the base units without a valid respondent, accepted ones marked."""
    names = summary.get("missing_unit_names") or {}
    accepted = set(summary.get("missing_units_accepted") or [])
    return ", ".join(f"{names.get(u, u)} ({u}" + (f"; {accepted_note}" if accepted_note and u in accepted else "")
                     + ")" for u in summary.get("missing_units") or [])


def _dropped_count(summary: dict) -> int:
    """How many export columns were dropped (never their names: a header can be an e-mail address)."""
    if summary.get("dropped_columns_count") is not None:
        return int(summary["dropped_columns_count"])
    return len(summary.get("dropped_columns") or [])


def _notices(summary: dict, t: dict) -> str:
    """How many records were set aside and which units are missing, whatever the quarantine ceiling says."""
    out = []
    n = int(summary.get("records_set_aside", summary.get("quarantined", 0)) or 0)
    if n:
        out.append(escape(t["set_aside"].format(n=n, total=summary["records_in"])))
    if summary.get("missing_units"):
        out.append(escape(t["missing"].format(names=_missing_names(summary, t["accepted"]))))
    return "".join(f'<p class="notice">{x}</p>' for x in out)


def console_summary(summary: dict, report_path: str) -> str:
    """2-4 plain lines on a validated round for the terminal: the counts, the rules records were set
    aside by, the base units without a valid respondent (if any) and where the validation report is."""

    s = summary
    lines = [f"Round {s.get('round', '?')}: {s['records_in']} records in, {s['valid']} valid, "
             f"{s['quarantined']} quarantined (set aside), {s['warned']} warned"]
    q = {r: c for r, c in (s.get("failures_by_rule") or {}).items() if RULES.get(r, ("quarantined",))[0] != "warned"}
    if s["quarantined"] and q:
        lines.append("  set aside by rule (problem rows): " + ", ".join(
            f"{r} {c}" for r, c in sorted(q.items(), key=lambda x: (-x[1], x[0]))))
    if s.get("missing_units"):
        lines.append("  base units without a valid respondent: " + _missing_names(s, "accepted"))
    lines.append(f"  validation report: {report_path}")
    return "\n".join(lines)


def validation_report_html(summary: dict, failures: pd.DataFrame, round_label: str, lang: str) -> str:
    t = TEXT[lang]
    a = summary["answers"]
    rows = "".join(f"<tr><td>{escape(str(r))}</td><td>{c}</td></tr>" for r, c in summary["failures_by_rule"].items())
    prob = "".join(
        f"<tr><td>{escape(str(f.source_row))}</td><td>{escape(str(f.column))}</td><td>{escape(str(f.value))}</td>"
        f"<td>{escape(str(f.rule))}</td><td>{escape(str(f.action))}</td><td>{escape(str(f.message))}</td></tr>"
        for f in failures.head(500).itertuples(index=False))
    files = "".join(f"<li><code>{escape(f['path'])}</code> {f['sha256']}</li>" for f in summary["files"])
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(t['title'])}: {escape(round_label)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}}
.kpi{{display:flex;gap:1rem}}.kpi div{{border:1px solid #ccc;padding:.5rem 1rem;border-radius:.3rem}}
.kpi b{{display:block;font-size:1.6rem}}
.notice{{border-left:4px solid #b35900;padding:.3rem .8rem;background:#fff6ec}}</style></head><body>
<h1>{escape(t['title'])}: {escape(round_label)}</h1>
<div class="kpi"><div>{t['records']}<b>{summary['records_in']}</b></div><div>{t['valid']}<b>{summary['valid']}</b></div>
<div>{t['quarantined']}<b>{summary['quarantined']}</b></div><div>{t['warned']}<b>{summary['warned']}</b></div></div>
{_notices(summary, t)}<p>{t['answers']}: {a['valid']} / {a['dont_know']} / {a['blank']}</p>
<table><tr><th>{t['rule']}</th><th>{t['count']}</th></tr>{rows}</table>
<h2>{t['problems']}</h2>
{f"<table><tr><th>{t['row']}</th><th>{t['column']}</th><th>{t['value']}</th><th>{t['rule']}</th>"
f"<th>{t['action']}</th><th>{t['message']}</th></tr>{prob}</table>" if len(failures) else f"<p>{t['none']}</p>"}
<h2>{t['dropped']}</h2><p>{escape(t['dropped_n'].format(n=_dropped_count(summary)))}</p>
<h2>{t['files']}</h2><ul>{files}</ul>
</body></html>
"""
