"""A short, self-contained HTML page on a round's validation, in the report language: counts with the
language's separators, every reason and action in words (the rule's name beside it for analysts)."""

from __future__ import annotations

from html import escape

import pandas as pd

from .locales import group
from .present import fmt_int, fmt_pct
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


def _notices(summary: dict, t: dict, lang: str) -> str:
    """How many records were set aside and which units are missing, whatever the quarantine ceiling says."""
    out = []
    n = int(summary.get("records_set_aside", summary.get("quarantined", 0)) or 0)
    if n:
        out.append(escape(t["set_aside"].format(n=fmt_int(n, lang), total=fmt_int(summary["records_in"], lang))))
    if summary.get("missing_units"):
        out.append(escape(t["missing"].format(names=_missing_names(summary, t["accepted"]))))
    return "".join(f'<p class="notice">{x}</p>' for x in out)


def _rates(summary: dict, t: dict, lang: str) -> str:
    """The response rates per base unit (with a staff register, relcoord.weights); "" without one. A unit
    whose count summary.json hides shows neither count nor rate (the rate times the staff gives it)."""
    rr = summary.get("response_rates")
    if not rr:
        return ""
    head = f"<h2>{escape(t['rates_h'])}</h2>"
    if rr.get("status") == "no_register":
        return f"{head}<p>{escape(t['rates_none'])}</p>"
    k = summary["min_group_size"]           # published_summary writes it
    rows = []
    for e in rr.get("units") or []:
        hidden = bool(e.get("hidden"))
        n = t["rates_hidden"] if hidden else fmt_int(e.get("respondents"), lang)
        rate = "–" if hidden or e.get("response_rate") is None else fmt_pct(e["response_rate"], lang)
        remark = t["rates_hidden"] if hidden else t["rates_low"] if e.get("low_response") is True else \
            t.get(f"rule_{e.get('note')}", "") if e.get("note") else ""
        staff = "–" if e.get("staff") is None else fmt_int(e["staff"], lang)
        rows.append(f"<tr><td>{escape(str(e['unit_id']))}</td><td class=\"num\">{escape(staff)}</td>"
                    f"<td class=\"num\">{escape(n)}</td><td class=\"num\">{escape(rate)}</td>"
                    f"<td>{escape(remark)}</td></tr>")
    org = rr.get("organisation")
    org_text = t["rates_org"].format(pct=fmt_pct(org["response_rate"], lang), n=fmt_int(org["respondents"], lang),
                                     staff=fmt_int(org["staff"], lang)) if org else t["rates_org_na"]
    note = t["rates_note"].format(ratio=fmt_pct(float(rr.get("low_response_ratio", 0.5)), lang), k=k)
    return (f"{head}<p>{escape(org_text)}</p><table><tr><th>{escape(t['rates_unit'])}</th>"
            f"<th>{escape(t['rates_staff'])}</th><th>{escape(t['rates_respondents'])}</th>"
            f"<th>{escape(t['rates_rate'])}</th><th>{escape(t['rates_remark'])}</th></tr>{''.join(rows)}</table>"
            f'<p class="note">{escape(note)}</p>')


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


def _rule(rule: str, t: dict) -> str:
    """A rule in plain words, its name for analysts in a small code element."""
    words = t.get(f"rule_{rule}")
    code = f'<code class="rule">{escape(str(rule))}</code>'
    return f"{escape(words)} {code}" if words else code


def _action(action: str, t: dict) -> str:
    return escape(t.get(f"action_{action}", str(action)))


def _todo(rule: str, message: str, t: dict) -> str:
    """What to do, in the report language; a rule the catalogue does not know keeps its message."""
    return escape(t.get(f"todo_{rule}") or str(message))


def validation_report_html(summary: dict, failures: pd.DataFrame, round_label: str, lang: str) -> str:
    """The round's validation report (results/R/validation/report.html) in ``lang``: the counts with the
    language's thousands separator, the reasons in plain words (the rule's name beside them for
    analysts), what was done and what to do; the full messages stay in failures.csv."""
    t = TEXT[lang]
    n = lambda x: fmt_int(x, lang)  # noqa: E731
    a = summary["answers"]
    rows = "".join(f"<tr><td>{_rule(r, t)}</td><td>{_action(RULES.get(r, ('quarantined',))[0], t)}</td>"
                   f'<td class="num">{n(c)}</td></tr>' for r, c in summary["failures_by_rule"].items())
    prob = "".join(
        f'<tr><td class="num">{escape(str(f.source_row))}</td><td>{escape(str(f.column))}</td>'
        f"<td>{escape(str(f.value))}</td><td>{_rule(f.rule, t)}</td><td class=\"act\">{_action(f.action, t)}</td>"
        f"<td>{_todo(f.rule, f.message, t)}</td></tr>"
        for f in failures.head(500).itertuples(index=False))
    files = "".join(f"<li><code>{escape(f['path'])}</code> <code class='rule'>{f['sha256']}</code></li>"
                    for f in summary["files"])
    kpis = "".join(f"<div>{escape(t[key])}<b>{n(summary[field])}</b></div>" for key, field in (
        ("records", "records_in"), ("valid", "valid"), ("quarantined", "quarantined"), ("warned", "warned")))
    by_rule = (f"<h2>{escape(t['by_rule'])}</h2><table><tr><th>{escape(t['rule'])}</th><th>{escape(t['action'])}</th>"
               f"<th>{escape(t['count'])}</th></tr>{rows}</table>") if rows else ""
    problems = (f"<table><tr><th>{escape(t['row'])}</th><th>{escape(t['column'])}</th><th>{escape(t['value'])}</th>"
                f"<th>{escape(t['rule'])}</th><th>{escape(t['action'])}</th><th>{escape(t['message'])}</th></tr>"
                f'{prob}</table><p class="note">{escape(t["details"])}</p>') if len(failures) else \
        f"<p>{escape(t['none'])}</p>"
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{escape(t['title'])}: {escape(round_label)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;margin:1rem 0}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}}
td.num,td.act{{text-align:right;white-space:nowrap}}td.act{{text-align:left}}code.rule{{font-size:.75em;color:#666;margin-left:.3em}}
.kpi{{display:flex;gap:1rem;flex-wrap:wrap}}.kpi div{{border:1px solid #ccc;padding:.5rem 1rem;border-radius:.3rem}}
.kpi b{{display:block;font-size:1.6rem}}.note{{font-size:.9rem;color:#555}}
.notice{{border-left:4px solid #b35900;padding:.3rem .8rem;background:#fff6ec}}</style></head><body>
<h1>{escape(t['title'])}: {escape(round_label)}</h1>
<div class="kpi">{kpis}</div>
{_notices(summary, t, lang)}<p>{escape(t['answers'])}: {n(a['valid'])} / {n(a['dont_know'])} / {n(a['blank'])}</p>
{_rates(summary, t, lang)}{by_rule}
<h2>{escape(t['problems'])}</h2>
{problems}
<h2>{escape(t['dropped'])}</h2><p>{escape(t['dropped_n'].format(n=n(_dropped_count(summary))))}</p>
<h2>{escape(t['files'])}</h2><ul>{files}</ul>
</body></html>
"""
