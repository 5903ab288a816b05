# After a failed run: no result may outlive the inputs it was computed from.
# Snakemake removes the outputs of the job that failed; remove_stale_results
# (called from the Snakefile's `onerror:`) removes everything downstream of
# it too (a round's scores, figures and report, the comparisons using the
# round, provenance.json) and rewrites results/index.html so that it links
# only reports whose inputs are complete and names what did not complete.
import shutil
import sys

from relcoord.locales import text as locale_text


def _missing(paths):
    return any(not Path(p).exists() for p in paths)


def _job_log(path, step):
    text = Path(path).read_text(encoding="utf-8", errors="replace") if Path(path).exists() else ""
    return {"step": step, "log": path, "stopped": "relcoord: " in text}


def remove_stale_results():
    removed, failed, kept_rounds, kept_comparisons, bad_rounds = [], [], [], [], set()

    def drop(paths):
        for p in paths:
            if Path(p).is_dir():  # a directory() output, e.g. results/R/units
                shutil.rmtree(p)
                removed.append(p)
            elif Path(p).is_file():
                Path(p).unlink()
                removed.append(p)

    for r in ROUNDS:
        stages = [("validation", "validate_round"), ("scoring", "score_round"), ("report", "report_round")]
        outputs = [expand(getattr(rules, name).output, round=r) for _, name in stages]
        broken = next((i for i, out in enumerate(outputs) if _missing(out)), None)
        if broken is None:
            kept_rounds.append(r)
            continue
        bad_rounds.add(r)
        drop([p for out in outputs[broken:] for p in out])
        step, name = stages[broken]
        failed.append({"label": _round_label(r), **_job_log(f"logs/{r}/{name}.log", step)})
    for cid, c in COMPARISONS.items():
        outputs = [
            expand(rules.compare_rounds.output, comparison=cid),
            expand(rules.report_comparison.output, comparison=cid),
        ]
        upstream_bad = c.baseline in bad_rounds or c.followup in bad_rounds
        broken = 0 if upstream_bad or _missing(outputs[0]) else (1 if _missing(outputs[1]) else None)
        if broken is None:
            kept_comparisons.append(cid)
            continue
        drop([p for out in outputs[broken:] for p in out])
        step, name = (("comparison", "compare_rounds"), ("report", "report_comparison"))[broken]
        label = f"{_round_label(c.baseline)} → {_round_label(c.followup)}"
        failed.append({"label": label, **_job_log(f"logs/comparisons/{cid}/{name}.log", step)})
    for r in list(kept_rounds):  # a round's report shows the change since the previous round: it stands on it
        prev = previous_comparison(r)
        if prev is not None and prev.id not in kept_comparisons:
            kept_rounds.remove(r)
            drop(expand(rules.report_round.output, round=r))
            failed.append({"label": _round_label(r), **_job_log(f"logs/{r}/report_round.log", "report")})
    if SETTINGS.trends:  # the trend report stands on every trend round: one failed, the trends go too
        outputs = expand(rules.trends.output)
        if bad_rounds & set(SETTINGS.trends) or _missing(outputs):
            drop(outputs)
            label = locale_text(SETTINGS.report.language)["index"]["trends_h"]
            failed.append({"label": label, **_job_log("logs/trends/trends.log", "report")})
    if not removed and not failed:
        return
    drop([rules.provenance.output[0]])
    _write_partial_index(kept_rounds, kept_comparisons, failed)
    print("relcoord: the run did not complete; removed results that no longer match their inputs:", file=sys.stderr)
    for p in removed:
        print(f"  - {p}", file=sys.stderr)
    print(f"  {rules.index.output[0]} now lists only complete reports.", file=sys.stderr)


def _write_partial_index(kept_rounds, kept_comparisons, failed):
    from relcoord.report import index_page

    out = Path(rules.index.output[0])
    v = index_values()
    rounds = [
        {**e, "href": str(Path(rules.report_round.output.report.format(round=e["id"])).relative_to(out.parent))}
        for e in v["rounds"]
        if e["id"] in kept_rounds
    ]
    comparisons = [
        {
            "id": e["id"],
            "label": f"{e['label_a']} → {e['label_b']}",
            "href": str(Path(rules.report_comparison.output.report.format(comparison=e["id"])).relative_to(out.parent)),
        }
        for e in v["comparisons"]
        if e["id"] in kept_comparisons
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        index_page(rounds, comparisons, lang=v["language"], title=v["title"], failed=failed, root=out.parent),
        encoding="utf-8",
    )


def announce_results():
    """After a successful run: each round's validation counts and where the report is."""
    print("\nrelcoord: done.", file=sys.stderr)
    for r in ROUNDS:
        path = Path(rules.validate_round.output.summary.format(round=r))
        if path.is_file():
            s = json.loads(path.read_text(encoding="utf-8"))
            print(
                f"  round {r}: {s['records_in']} records in, {s['valid']} valid, {s['quarantined']} set aside "
                f"(see {rules.validate_round.output.report.format(round=r)})",
                file=sys.stderr,
            )
    index = Path(rules.index.output[0])
    if index.is_file():
        print(f"  Open the report: {index.resolve()}", file=sys.stderr)
