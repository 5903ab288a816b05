"""Provenance of a workflow run: what went in, what came out, and with which code.

:func:`build_provenance` returns the content of ``results/provenance.json``:
sha256 and size of every input file (exports, config files, unit register,
memberships, instrument, codebooks) and of every output under ``results/``,
the config's hash (:func:`relcoord.runner.config_hash`), per report the
hash of the settings it was computed from, the git commit of the
workflow and whether its working tree had changes (``null`` with a note when
the workflow is not a git checkout or git is missing), and the versions of
Python, Snakemake and the packages that compute the numbers.

Deterministic: no timestamps, no host names, no absolute paths inside the
project (paths are given relative to the working directory), keys and files
sorted, so identical inputs, code and environment give identical bytes.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "sha256_file", "file_record", "git_state", "package_versions", "build_provenance"]

#: packages whose versions are recorded (those that compute, draw or write results)
from .validation import sha256  # noqa: E402

PACKAGES = ("relcoord", "snakemake", "pandas", "numpy", "scipy", "statsmodels", "pandera", "pyarrow", "openpyxl",
            "python-calamine", "matplotlib", "seaborn", "networkx", "jinja2", "pyyaml", "jsonschema")


sha256_file = sha256  # one implementation (relcoord.validation.sha256)


def _display_path(path: str | Path, base: Path) -> str:
    """``path`` relative to ``base`` when inside it (POSIX separators), else as given, absolute."""
    p = Path(os.path.abspath(path))
    try:
        return p.relative_to(base).as_posix()
    except ValueError:
        return p.as_posix()


def file_record(path: str | Path, base: str | Path | None = None) -> dict[str, Any]:
    """``{"path", "sha256", "bytes"}`` of one file; ``path`` relative to ``base`` (default: cwd)."""
    base = Path(os.path.abspath(base or os.getcwd()))
    return {"path": _display_path(path, base), "sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


def _git(repo: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30,
                              env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_state(path: str | Path) -> dict[str, Any]:
    """The git commit of the checkout holding ``path`` and whether its tree is dirty.

    ``{"commit": "<40 hex>", "dirty": bool}``; dirty means tracked files differ
    from the commit or untracked, not ignored files exist (``git status
    --porcelain``). Without git or outside a checkout: ``{"commit": None,
    "dirty": None, "note": ...}``."""
    repo = Path(path)
    if repo.is_file():
        repo = repo.parent
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top is None:
        return {"commit": None, "dirty": None, "note": "not a git checkout (or git is not installed)"}
    commit = _git(repo, "rev-parse", "--verify", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None, "note": "git checkout without a commit"}
    status = _git(repo, "status", "--porcelain", "--untracked-files=normal")
    return {"commit": commit.strip(), "dirty": None if status is None else bool(status.strip())}


def package_versions(packages: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (``None`` when not installed), without importing them."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _with_settings(record: dict[str, Any], report_settings: Mapping[str, str] | None) -> dict[str, Any]:
    """A report's file record, with the settings hash the report itself shows."""
    for path, digest in (report_settings or {}).items():
        if Path(path).as_posix() == record["path"]:
            return {**record, "settings_sha256": digest}
    return record


def _files(paths: Iterable[str | Path]) -> list[str | Path]:
    """The paths, a folder (a rule's ``directory()`` output, e.g. results/R/units) replaced by every
    file under it."""
    out: list[str | Path] = []
    for p in paths:
        if Path(p).is_dir():
            out += sorted(str(f) for f in Path(p).rglob("*") if f.is_file())
        else:
            out.append(p)
    return out


def build_provenance(inputs: Mapping[str, Any], outputs: Iterable[str | Path], *, config_sha256: str,
                     min_group_size: int, seed: int | None, report_settings: Mapping[str, str] | None = None,
                     workflow_dir: str | Path | None = None, base: str | Path | None = None) -> dict[str, Any]:
    """The content of results/provenance.json.

    ``inputs``: ``{"config": [paths], "units": path, "memberships": path,
    "instrument": path, "staff": path (optional), "rounds": {round_id: {"export": [paths], "codebook":
    path}}}``; ``outputs``: result files to fingerprint (a folder: every file in it); ``workflow_dir``: a
    folder of the workflow's checkout (for the git commit); ``base``: the
    project folder paths are given relative to (default: cwd); ``config_sha256``: the
    hash of the whole config (:func:`relcoord.runner.config_hash`);
    ``report_settings``: report path -> the settings hash that report shows
    (:func:`relcoord.runner.settings_sha256` of its rule's values), recorded
    with the report's file record so a reader can check a report against
    this record."""
    base = Path(os.path.abspath(base or os.getcwd()))

    def rec(p):
        return file_record(p, base)

    rounds = {}
    for rid in sorted(inputs.get("rounds", {}), key=str):
        r = inputs["rounds"][rid]
        rounds[str(rid)] = {"export": [rec(p) for p in sorted(map(str, r.get("export", [])))],
                            "codebook": rec(r["codebook"])}
    config_files = sorted({_display_path(p, base): p for p in inputs.get("config", [])}.items())
    out_files = sorted({_display_path(p, base): p for p in _files(outputs)}.items())
    return {
        "config_sha256": config_sha256,
        "inputs": {
            "config": [rec(p) for _, p in config_files],
            "units": rec(inputs["units"]),
            "memberships": rec(inputs["memberships"]),
            "instrument": rec(inputs["instrument"]),
            **({"staff": rec(inputs["staff"])} if inputs.get("staff") else {}),   # the optional staff register
            "rounds": rounds,
        },
        "outputs": [_with_settings(rec(p), report_settings) for _, p in out_files],
        "workflow": git_state(workflow_dir) if workflow_dir is not None else
        {"commit": None, "dirty": None, "note": "workflow folder not given"},
        "software": {"python": platform.python_version(), "python_implementation": platform.python_implementation(),
                     **package_versions()},
        "settings": {"min_group_size": int(min_group_size), "seed": seed},
    }
