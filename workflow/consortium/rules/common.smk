# Helper functions of the consortium workflow: paths of each organisation's files as seen from the
# consortium folder, and the values each job's script gets (from its organisation's own settings).


def org_file(org, path):
    """A path of the organisation's config as seen from the consortium folder."""
    return study_path(BENCH.organisations[org], path)


def org_export_root(wildcards):
    return org_file(wildcards.org, ORG_SETTINGS[wildcards.org].rounds[wildcards.round].export)


def org_export_files(wildcards):
    """Every file of the round's export: the folder's files, or the file."""
    path = Path(org_export_root(wildcards))
    if path.is_dir():
        return sorted(str(p) for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    return [str(path)]


def org_codebook(wildcards):
    return org_file(wildcards.org, ORG_SETTINGS[wildcards.org].rounds[wildcards.round].codebook)


def org_register(name):
    """Input function: the organisation's units, memberships or instrument file."""

    def path(wildcards):
        return org_file(wildcards.org, getattr(ORG_SETTINGS[wildcards.org], name))

    return path


def org_staff(wildcards):
    """The organisation's staff register when its config names one, else nothing."""
    s = ORG_SETTINGS[wildcards.org]
    return [org_file(wildcards.org, s.staff)] if s.staff else []


def org_staff_summary(wildcards):
    return [rules.validate_round.output.summary.format(**wildcards)] if ORG_SETTINGS[wildcards.org].staff else []


def org_values(of):
    """params: the rule's values from the organisation's own settings (relcoord.rule_values), encoded."""

    def fn(wildcards):
        return encode_values(of(ORG_SETTINGS[wildcards.org], wildcards.round))

    return fn


def pool_entries():
    """[(org, period, round)] in a fixed order: what benchmark_pool reads, aligned with its inputs."""
    return [(org, period, rid) for org in ORGS for period, rid in PERIOD_ROUNDS[org].items()]


def published(table):
    """Input: one reader-facing score table of every (organisation, period): this workflow's scoring
    (``scores: run``), or the table the organisation's own run wrote in its study folder (``scores: published``)."""
    if BENCH.scores == "published":
        return [org_file(o, f"results/{r}/scores/{table}.csv") for o, _, r in pool_entries()]
    return [getattr(rules.score_round.output, table).format(org=o, round=r) for o, _, r in pool_entries()]


def pool_values():
    return {
        "entries": [list(e) for e in pool_entries()],
        "min_organisations": BENCH.min_organisations,
        "period": BENCH.period,
        "organisations": {
            org: {
                "min_group_size": ORG_SETTINGS[org].privacy.min_group_size,
                "language": ORG_SETTINGS[org].report.language,
                "title": ORG_SETTINGS[org].report.title,
            }
            for org in ORGS
        },
    }
