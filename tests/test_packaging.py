"""A normal (non-editable) install works outside the checkout.

The project is installed with ``pip install --target`` (no dependencies, no
build isolation: offline and fast, setuptools is in the venv) from a copy of
the sources, and ``relcoord check`` runs on a demo export from a folder that is
neither the checkout nor holds ``src/``: the schemas, templates and catalogues
must come from the installed package's data.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import ROOT


def _copy_sources(dest: Path) -> Path:
    """pyproject.toml, README.md and src/ (without build residue): pip builds in the source
    folder, so it builds in a copy, never in the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("packaging")
    source = _copy_sources(tmp / "source")
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, capture_output=True)
    return target


def test_package_data_is_installed(installed):
    pkg = installed / "relcoord"
    for pattern in ("schemas/*.schema.yaml", "templates/*.j2", "locales/*.yaml"):
        shipped = sorted(p.name for p in (ROOT / "src" / "relcoord").glob(pattern))
        assert shipped, pattern
        assert sorted(p.name for p in pkg.glob(pattern)) == shipped, pattern


def test_check_runs_from_an_installed_copy_outside_the_checkout(installed, tmp_path):
    study = tmp_path / "study"
    shutil.copytree(ROOT / "config", study / "config")
    shutil.copytree(ROOT / "data" / "raw" / "demo" / "2024", study / "data" / "raw" / "demo" / "2024")
    # the installed copy first, then the venv's dependencies; never the checkout's src/
    path = os.pathsep.join([str(installed), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=path, PYTHONNOUSERSITE="1", RELCOORD_SECRET="test-secret-0123456789abcdef")
    # -S: no site-packages processing (the venv's holds an editable link to the checkout); -P: not the cwd
    where = subprocess.run([sys.executable, "-S", "-P", "-c", "import relcoord; print(relcoord.__file__)"],
                           cwd=study, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(installed), where
    run = subprocess.run([sys.executable, "-S", "-P", "-m", "relcoord.cli", "check", "data/raw/demo/2024",
                          "--round", "2024", "--config", "config/config.yaml"],
                         cwd=study, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "checked against round '2024'" in run.stdout
    assert "Traceback" not in run.stderr
