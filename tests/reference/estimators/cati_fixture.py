"""The bundled CATI sample with a fixed raking design, shared by the R script
(``cati.R`` reads ``cati.csv``) and the Python tests.

Margins (register-based, SSB establishments with >= 1 employee, 1 Jan 2018):
size class 1-4 98331, 5-19 71419 (5-9 + 10-19), 20-49 20654, 50+ 9612
(50-99 + 100-249 + 250+); sector public 10001 (about 5%, SSB's "om lag 5
prosent"), private 190015. Fixed here so that the reference does not move
when the bundled margins are refined.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
DATA_CSV = (
    Path(__file__).resolve().parents[3]
    / "estimators/surveys/employers/data/cati_employers_2017.csv"
)
MISSING_CODES = ("not_asked", "dont_know", "no_answer")
SIZE = {"1-4": 98331, "5-19": 71419, "20-49": 20654, "50+": 9612}
SECTOR = {"public": 10001, "private": 190015}


def load(frozen: bool = True) -> pd.DataFrame:
    """The CATI sample with missing-answer codes as missing values.

    ``frozen`` (default): the snapshot ``cati.csv`` stored beside the R values
    (the bundled data may still be refined; the references must not move).
    Otherwise the bundled file, read directly as docs/data.md describes it.
    """
    path = HERE / "cati.csv" if frozen else DATA_CSV
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame.replace({c: None for c in MISSING_CODES + ("",)})
    frame["id"] = frame["id"].astype(int)
    frame["trainee_count"] = pd.to_numeric(frame["trainee_count"])
    return frame


def design(replicates=None, frozen=True):
    """Stratified (sector x size) design raked to SIZE and SECTOR."""
    from weighting.design import Design
    from weighting.margins import Margin

    data = load(frozen)
    des = Design(data, strata="stratum")
    if replicates:
        des = des.with_replicates(replicates)
    return des.calibrate(
        [Margin("size_class", SIZE), Margin("sector", SECTOR)], distance="raking", tol=1e-12
    )


if __name__ == "__main__":  # refresh the snapshot for cati.R
    load(frozen=False).to_csv(HERE / "cati.csv", index=False)
