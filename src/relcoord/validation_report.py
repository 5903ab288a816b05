"""A short, self-contained HTML page on a round's validation (Danish or English)."""

from __future__ import annotations

from html import escape

import pandas as pd

TEXT = {
    "da": {
        "title": "Validering af besvarelser", "records": "Besvarelser i eksporten", "valid": "Gyldige",
        "quarantined": "Sat til side (karantæne)", "warned": "Med advarsel", "rule": "Regel", "count": "Antal",
        "problems": "Problemer (første 500)", "row": "Række", "column": "Kolonne", "value": "Værdi",
        "message": "Hvad skal der gøres", "action": "Handling", "files": "Filer (sha256)",
        "dropped": "Kolonner der ikke føres videre (fx navn, e-mail, fritekst)", "none": "Ingen problemer fundet.",
        "answers": "Svar: gyldige / ved ikke / blanke",
    },
    "en": {
        "title": "Validation of responses", "records": "Records in the export", "valid": "Valid",
        "quarantined": "Set aside (quarantined)", "warned": "With a warning", "rule": "Rule", "count": "Count",
        "problems": "Problems (first 500)", "row": "Row", "column": "Column", "value": "Value",
        "message": "What to do", "action": "Action", "files": "Files (sha256)",
        "dropped": "Columns not carried forward (e.g. name, e-mail, free text)", "none": "No problems found.",
        "answers": "Answers: valid / don't know / blank",
    },
}


def validation_report_html(summary: dict, failures: pd.DataFrame, round_label: str, lang: str = "da") -> str:
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
.kpi b{{display:block;font-size:1.6rem}}</style></head><body>
<h1>{escape(t['title'])}: {escape(round_label)}</h1>
<div class="kpi"><div>{t['records']}<b>{summary['records_in']}</b></div><div>{t['valid']}<b>{summary['valid']}</b></div>
<div>{t['quarantined']}<b>{summary['quarantined']}</b></div><div>{t['warned']}<b>{summary['warned']}</b></div></div>
<p>{t['answers']}: {a['valid']} / {a['dont_know']} / {a['blank']}</p>
<table><tr><th>{t['rule']}</th><th>{t['count']}</th></tr>{rows}</table>
<h2>{t['problems']}</h2>
{f'<table><tr><th>{t["row"]}</th><th>{t["column"]}</th><th>{t["value"]}</th><th>{t["rule"]}</th><th>{t["action"]}</th><th>{t["message"]}</th></tr>{prob}</table>' if len(failures) else f'<p>{t["none"]}</p>'}
<h2>{t['dropped']}</h2><p>{escape(', '.join(summary['dropped_columns'])) or '-'}</p>
<h2>{t['files']}</h2><ul>{files}</ul>
</body></html>
"""
