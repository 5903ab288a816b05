"""The answer counts behind the item-distribution figure (relcoord.figures._answer_counts, counted
over integer codes) equal the former string crosstab on every kind of answer: valid scores,
scores off the scale, valid answers without a value, "don't know", blanks, unknown items, with and
without the ``answer`` column, as categoricals or as text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from relcoord import figures as F

ITEMS = ["frequent", "timely", "accurate"]
SCORES = [1, 2, 3, 4, 5]
CATS = [str(s) for s in SCORES] + ["dont_know", "blank"]


def reference(r: pd.DataFrame) -> pd.DataFrame:
    kind = F._answer_kind(r)
    val = pd.to_numeric(r["value"], errors="coerce").round()
    item_col = r["item"].astype(str)
    cat = np.where(kind == "valid", val.astype("Int64").astype(str), kind.where(kind.isin(["dont_know"]), "blank"))
    return pd.crosstab(item_col, pd.Series(cat, index=r.index)).reindex(index=ITEMS, columns=CATS, fill_value=0)


def answers(seed: int, n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    value = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0, 2.6, 0.0, 7.0, -1.0, np.nan], n)
    answer = rng.choice(["valid", "dont_know", "blank", "other"], n, p=[0.8, 0.08, 0.08, 0.04])
    item = rng.choice(ITEMS + ["not_in_instrument"], n, p=[0.3, 0.3, 0.35, 0.05])
    return pd.DataFrame({"respondent_id": rng.integers(0, 300, n).astype(str), "item": item, "value": value,
                         "answer": answer})


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("form", ["text", "categorical", "no_answer_column", "missing_answer"])
def test_counts_equal_the_string_crosstab(seed, form):
    r = answers(seed)
    if form == "categorical":
        r = r.astype({"item": "category", "answer": "category", "respondent_id": "category"})
    elif form == "no_answer_column":
        r = r.drop(columns="answer")
    elif form == "missing_answer":
        r["answer"] = pd.Categorical(r["answer"].where(r.index % 11 != 0))
    new = F._answer_counts(r, ITEMS, SCORES, CATS)
    pd.testing.assert_frame_equal(new, reference(r), check_exact=True)


def test_counts_of_no_answers():
    r = answers(1).iloc[:0]
    pd.testing.assert_frame_equal(F._answer_counts(r, ITEMS, SCORES, CATS), reference(r), check_exact=True)
