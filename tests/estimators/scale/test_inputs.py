"""Out-of-core input: a parquet sample read lazily and encoded per chunk with
shared dictionaries gives the in-memory design's numbers (1e-12)."""

import numpy as np
import pandas as pd
import pytest

from estimators.scale import dask_scheduler, synthetic
from estimators.scale.inputs import read_parquet_sample
from weighting.design import Design
from weighting.errors import DesignError, MarginError, MissingValueError
from weighting.margins import Margin

N_ROWS = 20_000


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("sample") / "sample"
    return synthetic.write_parquet(path, N_ROWS, seed=4, rows_per_file=4_000, clusters=5)


@pytest.fixture(scope="module")
def frame(parquet):
    return pd.read_parquet(parquet)


def _cross_codes(frame):
    sector = np.unique(frame.sector, return_inverse=True)[1]
    size = np.unique(frame.size_class, return_inverse=True)[1]
    return (sector * 4 + size).astype(np.int64)


@pytest.mark.parametrize("method, psu", [("bootstrap", None), ("jkn", "psu")])
def test_parquet_path_equals_in_memory_design(parquet, frame, method, psu):
    margins = synthetic.margins(N_ROWS)
    with dask_scheduler("threads"):
        lazy = read_parquet_sample(
            parquet,
            margins,
            values=list(synthetic.OUTCOMES),
            by=["sector", "size_class"],
            strata="stratum",
            psu=psu,
            tol=1e-12,
        )
        ds = lazy.replicates(method, replicates=16, seed=9, block_size=5)
        assert hasattr(ds.replicate_total.data, "dask")  # lazy until computed
        ds = ds.compute()
    design = (
        Design(frame, strata="stratum", psu=psu, nest=True)
        .calibrate(margins, tol=1e-12)
        .with_replicates(method, replicates=16, seed=9)
    )
    values = frame[list(synthetic.OUTCOMES)].to_numpy(float)
    expected = design.replicate_totals(values, _cross_codes(frame), 8)
    np.testing.assert_allclose(ds.replicate_total.values[:, :, 1:], expected, rtol=1e-12)
    full = np.stack(
        [np.bincount(_cross_codes(frame), design.weights * v, minlength=8) for v in values.T],
        axis=1,
    )
    np.testing.assert_allclose(ds.total.values[:, 1:], full, rtol=1e-12)
    assert ds.group.values[0] == "private|1-4" and lazy.n == N_ROWS
    assert ds.attrs["degf"] == design.degf


def test_sample_category_missing_from_margin_is_named(parquet):
    margins = synthetic.margins(N_ROWS)
    nace = dict(margins[1].table)
    nace.pop(("C",))
    with pytest.raises(MarginError, match=r"nace=C \(\d+ respondents\).*'nace'"):
        read_parquet_sample(
            parquet,
            [margins[0], Margin("nace", {k[0]: v for k, v in nace.items()})],
            strata="stratum",
        )


def test_missing_values_are_named(tmp_path):
    part = pd.DataFrame(synthetic.sample(200, seed=1))
    part.loc[[3, 7], "y2"] = np.nan
    part.to_parquet(tmp_path / "s.parquet")
    with pytest.raises(MissingValueError, match=r"'y2' has 2 missing"):
        read_parquet_sample(
            tmp_path / "s.parquet", synthetic.margins(200), values=["y1", "y2"], strata="stratum"
        )


def test_a_lonely_stratum_is_named_plainly(tmp_path):
    part = pd.DataFrame(synthetic.sample(200, seed=1))
    part.loc[3, "stratum"] = "z"
    part.to_parquet(tmp_path / "s.parquet")
    # the stratum as its label (z), not a Python list (['z'])
    with pytest.raises(DesignError, match=r"^1 stratum/strata with a single PSU: z \("):
        read_parquet_sample(
            tmp_path / "s.parquet", synthetic.margins(200), values=["y1"], strata="stratum"
        )
