"""The staff survey's R reference values (``ai_staff.R`` wrote
``ai_staff_values.csv``) and R's names of the rates it checks, for the tests
of the staff design and of the report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

VALUES = pd.read_csv(Path(__file__).resolve().parent / "ai_staff_values.csv")

#: R's names of the staff rates (``ai_staff.R``) -> catalog ids
R_RATES = {
    "aft_offered": "aft_offered",
    "active_recruitment_rate": "active_recruitment_rate",
    "competition_from_nav": "competition_from_nav",
    "need_more_employer_work_agree": "need_more_employer_work_agree",
    "method_ordinary_work_training": "method_ordinary_work_training",
    "useful_oppfolging": "useful_oppfolging_aft.oppfolging",
}


def r_value(key: str) -> np.ndarray:
    """The R value(s) stored under ``key`` (``key[i]`` entries in R's order)."""
    pattern = re.compile(re.escape(key) + r"(\[\d+\])?")
    rows = VALUES[VALUES["name"].map(lambda n: bool(pattern.fullmatch(n)))]
    assert len(rows), key
    return rows["value"].to_numpy(float)
