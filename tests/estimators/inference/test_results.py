"""Results made from the estimators' columns (issue 14: the frame is made on
first use, so that an estimate imports no pandas until one is asked for)."""

import numpy as np
import pandas as pd
from reference.estimators.apistrat_designs import LIN

from estimators.inference import estimate as E
from estimators.inference.results import ESTIMATE_COLUMNS, Results


def test_the_frame_is_made_once_from_the_columns():
    columns = {"a": np.array([1.5, np.nan]), "b": ["x", None]}
    results = Results.of_columns(columns, {"level": 0.95})
    frame = results.frame
    assert results.frame is frame  # made once, then kept
    pd.testing.assert_frame_equal(frame, pd.DataFrame(columns))
    assert results.attrs == {"level": 0.95}


def test_an_estimate_written_before_its_frame_is_used_has_every_digit(tmp_path):
    """Unrounded numbers in shortest round-trip form: the estimates read back
    are the estimates, to the last bit."""
    r = E.svymean(LIN, ["api00", "meals"], by=["all", "stype"])
    r.to_csv(tmp_path / "est.csv")
    back = pd.read_csv(tmp_path / "est.csv", dtype=str)  # Python's float() reads them back
    assert list(back.columns) == ESTIMATE_COLUMNS
    for column in ("estimate", "se", "ci_low", "ci_high"):
        assert [float(v) for v in back[column]] == r.frame[column].tolist()
