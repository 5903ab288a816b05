"""Tests for relcoord.provenance: file fingerprints, git state, the provenance record."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess

import pytest

from relcoord.provenance import build_provenance, file_record, git_state, package_versions

KW = {"config_sha256": "0" * 64, "min_group_size": 5, "seed": 7}


def _project(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "data/r1").mkdir(parents=True)
    (tmp_path / "results").mkdir()
    files = {"config/config.yaml": "seed: 7\n", "config/units.tsv": "unit_id\n", "config/memberships.tsv": "x\n",
             "config/instrument.yaml": "items: []\n", "config/cb.yaml": "id: id\n", "data/r1/b.csv": "2\n",
             "data/r1/a.csv": "1\n", "results/t.csv": "n\n5\n", "results/r.html": "<p>x</p>\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    inputs = {"config": ["config/config.yaml"], "units": "config/units.tsv", "memberships": "config/memberships.tsv",
              "instrument": "config/instrument.yaml",
              "rounds": {"r1": {"export": ["data/r1/b.csv", "data/r1/a.csv"], "codebook": "config/cb.yaml"}}}
    return inputs, ["results/t.csv", "results/r.html"]


def test_file_record_is_relative_with_sha256(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.txt").write_bytes(b"abc")
    rec = file_record(tmp_path / "f.txt")
    assert rec == {"path": "f.txt", "sha256": hashlib.sha256(b"abc").hexdigest(), "bytes": 3}
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_bytes(b"x")
    assert file_record(outside)["path"] == outside.as_posix()          # outside the project: absolute


def test_record_is_deterministic_sorted_and_complete(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inputs, outputs = _project(tmp_path)
    a = build_provenance(inputs, outputs, workflow_dir=tmp_path, **KW)
    b = build_provenance(inputs, list(reversed(outputs)), workflow_dir=tmp_path, **KW)
    assert json.dumps(a) == json.dumps(b)                              # key order and file order do not matter
    assert [r["path"] for r in a["inputs"]["rounds"]["r1"]["export"]] == ["data/r1/a.csv", "data/r1/b.csv"]
    assert [r["path"] for r in a["outputs"]] == ["results/r.html", "results/t.csv"]
    assert a["inputs"]["units"]["sha256"] == hashlib.sha256(b"unit_id\n").hexdigest()
    assert a["software"]["python"] == platform.python_version() and a["software"]["pandas"]
    assert a["settings"] == {"min_group_size": 5, "seed": 7}
    assert str(tmp_path) not in json.dumps(a)
    # an input that changes changes the record
    (tmp_path / "data/r1/a.csv").write_text("changed\n", encoding="utf-8")
    c = build_provenance(inputs, outputs, workflow_dir=tmp_path, **KW)
    assert c["inputs"]["rounds"]["r1"]["export"][0]["sha256"] != a["inputs"]["rounds"]["r1"]["export"][0]["sha256"]


def test_git_state_outside_a_checkout(tmp_path):
    state = git_state(tmp_path)
    assert state["commit"] is None and state["dirty"] is None and "not a git checkout" in state["note"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_git_state_commit_and_dirty(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("a\n")
    assert git_state(tmp_path)["commit"] is None                     # no commit yet
    git("add", "a.txt")
    git("commit", "-q", "-m", "a")
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    assert git_state(tmp_path) == {"commit": head, "dirty": False}
    assert git_state(tmp_path / "a.txt")["commit"] == head           # a file in the checkout works too
    (tmp_path / "a.txt").write_text("b\n")
    assert git_state(tmp_path) == {"commit": head, "dirty": True}
    git("checkout", "-q", "a.txt")
    (tmp_path / "new.txt").write_text("untracked\n")
    assert git_state(tmp_path)["dirty"] is True


def test_package_versions_without_importing():
    v = package_versions(["pandas", "surely-not-installed-xyz"])
    assert v["pandas"] and v["surely-not-installed-xyz"] is None
