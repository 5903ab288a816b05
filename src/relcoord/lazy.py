"""Heavy third-party modules imported on first use.

scipy.stats/linalg/optimize and statsmodels cost 1-2 s to import; jobs that
only need a module's light helpers (e.g. the comparison report, which imports
relcoord.compare for its column names) should not pay for them. A module
writes ``stats = lazy_module("scipy.stats")`` and uses ``stats.t.sf`` as usual.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule:
    """A module imported on first attribute access."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """A stand-in for module ``name`` that imports it on first attribute access."""
    return _LazyModule(name)
