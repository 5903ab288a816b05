"""Writers turn canonical tables into survey-platform exports (for the demo,
tests and benchmarks): the inverse of :mod:`relcoord.readers`.

Each writer for a format other than SurveyXact also returns the codebook that
reads what it wrote (``info["codebook"]``), so a simulated round can be
written in every format and read back (tests/test_formats_roundtrip.py).
"""

from __future__ import annotations

from pathlib import Path

from .canonical import write_canonical
from .generic import write_generic
from .limesurvey import write_limesurvey
from .qualtrics import write_qualtrics
from .spss import write_spss
from .surveyxact import write_surveyxact

__all__ = ["write_surveyxact", "write_round", "FORMATS"]

#: --format choice -> (config `format`, export path inside the round folder, description)
FORMATS: dict[str, tuple[str, str, str]] = {
    "qualtrics": ("qualtrics", "export.csv", "Qualtrics CSV `export.csv` (3 header rows, choice texts)"),
    "limesurvey": ("limesurvey", "export.csv", "LimeSurvey CSV `export.csv` (`;`, quoted, answer codes A1..A6)"),
    "spss": ("spss", "export.sav", "SPSS `export.sav` (SurveyXact variable names, value labels)"),
    "generic-csv": ("generic", "export.csv", "generic wide CSV `export.csv` (`;`, cp1252, decimal commas)"),
    "generic-xlsx": ("generic", "export.xlsx", "generic wide workbook `export.xlsx` (sheet Svar)"),
    "canonical": ("canonical", ".", "canonical tables `responses.csv`, `respondents.csv` (UTF-8)"),
}


def write_round(fmt: str, study_round, units, instrument, folder, *, seed: int = 0) -> dict:
    """Write one round in ``fmt`` (a key of :data:`FORMATS`) into ``folder``; returns the
    writer's info plus ``format`` (the config value), ``export`` (the path to configure) and
    ``description``."""
    config_format, name, description = FORMATS[fmt]
    folder = Path(folder)
    target = folder if name == "." else folder / name
    if fmt == "qualtrics":
        info = write_qualtrics(study_round, units, instrument, target, seed=seed)
    elif fmt == "limesurvey":
        info = write_limesurvey(study_round, units, instrument, target, seed=seed)
    elif fmt == "spss":
        info = write_spss(study_round, units, instrument, target, seed=seed)
    elif fmt in ("generic-csv", "generic-xlsx"):
        info = write_generic(study_round, units, instrument, target, kind=fmt.split("-")[1], seed=seed)
    elif fmt == "canonical":
        info = write_canonical(study_round, units, instrument, target, seed=seed)
    else:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return {**info, "format": config_format, "export": str(target), "description": description}
