"""Writers turn canonical tables into survey-platform exports (for the demo,
tests and benchmarks): the inverse of :mod:`relcoord.readers`."""

from .surveyxact import write_surveyxact

__all__ = ["write_surveyxact"]
