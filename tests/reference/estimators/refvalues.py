"""Read the stored R reference values of the estimator tests."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def load(name: str) -> dict[str, np.ndarray]:
    """``{key: array}`` from ``<name>_values.csv``; ``key[i]`` entries are
    gathered into one array per key (R's 1-based order)."""
    out: dict[str, list] = {}
    with open(HERE / f"{name}_values.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            match = re.fullmatch(r"(.*)\[(\d+)\]", row["name"])
            key = match.group(1) if match else row["name"]
            out.setdefault(key, []).append(float(row["value"]))
    return {k: np.array(v) for k, v in out.items()}
