"""Read and compare the cross-check's stored R values (the JSON that
``edge.R``, ``calib.R`` and ``jkn_take_all.R`` write beside themselves)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RTOL = 1e-8


def r_values(name: str) -> dict:
    """``{key: array}`` from ``<name>.json``; jsonlite writes R's NA and NaN
    as text, read as NaN. The ``*terms`` entries (a model's term names) stay
    lists of text."""
    raw = json.loads((HERE / f"{name}.json").read_text())
    return {
        k: v if k.endswith("terms") else np.array([np.nan if x == "NA" else x for x in v], float)
        for k, v in raw.items()
    }


def close(actual, expected, what: str, rtol: float = RTOL, atol: float = 0.0) -> None:
    """``actual`` equals R's ``expected`` to ``rtol`` relative (``atol``
    absolute), ``what`` naming the quantity in a failure."""
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rtol, atol=atol, err_msg=what
    )
