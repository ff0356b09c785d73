"""Design object: structure, validation, immutability."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weighting.design import Design, _nested_psu, _row_psu
from weighting.errors import DesignError, MissingValueError, WeightError


def test_lonely_policies():
    strata = np.array(["a", "a", "b", "c", "c"])
    # the strata are listed plainly, not as a Python list (['b'])
    with pytest.raises(DesignError, match=r"^1 stratum/strata with a single PSU: b \("):
        Design(weights=np.ones(5), strata=strata)
    d = Design(weights=np.ones(5), strata=strata, lonely_psu="certainty")
    assert d.certainty.tolist() == [False, True, False]
    m = Design(weights=np.ones(5), strata=strata, lonely_psu={"b": "c"})
    assert m.strata_labels == ("a", "c") and m.n_psu.tolist() == [2, 3]
    with pytest.raises(DesignError, match="'a' has 2 PSUs"):
        Design(weights=np.ones(5), strata=strata, lonely_psu={"a": "c"})
    with pytest.raises(DesignError, match=r"'zz' is not in the design \(strata: a, b, c\)$"):
        Design(weights=np.ones(5), strata=strata, lonely_psu={"b": "zz"})
    with pytest.raises(DesignError, match="lonely_psu must be"):
        Design(weights=np.ones(5), strata=strata, lonely_psu="collapse")


def test_take_all_single_psu_stratum_is_not_lonely():
    d = Design(weights=np.ones(3), strata=[0, 0, 1], fpc=[10, 10, 1])
    assert d.sampling_fraction.tolist() == [0.2, 1.0]


def test_psus_nested_in_strata_and_ordered():
    d = Design(
        weights=np.ones(6),
        strata=["b", "b", "a", "a", "a", "b"],
        psu=[1, 2, 1, 3, 3, 1],
        nest=True,
    )
    # PSU "1" of stratum a and of stratum b are different PSUs; codes run a then b.
    assert d.psu.tolist() == [2, 3, 0, 1, 1, 2]
    assert d.psu_stratum.tolist() == [0, 0, 1, 1]
    assert d.degf == 4 - 2


def test_merge_keeps_psus_of_merged_strata_apart():
    d = Design(
        weights=np.ones(5),
        strata=["a", "a", "b", "c", "c"],
        psu=[1, 2, 1, 1, 2],
        nest=True,
        lonely_psu={"b": "a"},
    )
    assert d.n_psu.tolist() == [3, 2]


def test_fpc_validation():
    with pytest.raises(DesignError, match="not constant within stratum '0'"):
        Design(weights=np.ones(3), strata=[0, 0, 1], fpc=[10, 11, 5], lonely_psu="certainty")
    with pytest.raises(DesignError, match="below its 2 sampled PSUs"):
        Design(weights=np.ones(4), strata=[0, 0, 1, 1], fpc=[1.5, 1.5, 10, 10])
    d = Design(strata=[0, 0, 1, 1], fpc=[10, 10, 8, 8])
    np.testing.assert_array_equal(d.base_weights, [5, 5, 4, 4])  # N_h / n_h


def test_bad_weights_and_missing_codes():
    with pytest.raises(WeightError, match="first at row 2:"):
        Design(weights=[1.0, -2.0, 1.0])
    with pytest.raises(MissingValueError, match="strata"):
        Design(weights=np.ones(3), strata=np.array([1.0, np.nan, 1.0]))


def test_immutable():
    d = Design(weights=np.ones(3))
    with pytest.raises(AttributeError):
        d.weights = np.zeros(3)
    with pytest.raises(ValueError):
        d.weights[0] = 5.0


@settings(max_examples=200, deadline=None)
@given(
    strata=st.lists(st.integers(0, 5), max_size=60),
    wide=st.booleans(),
)
def test_row_psus_are_the_sorted_rows_psus(strata, wide):
    # A design without psu (every row its own PSU) numbers its PSUs by a
    # stable sort of the strata codes; they must be what the general rule
    # (unique (stratum, row) pairs) gives, also for codes beyond 16 bits,
    # which are sorted as int64.
    codes = np.asarray(strata, dtype=np.int64) + (70_000 if wide else 0)
    n_strata = int(codes.max()) + 1 if codes.size else 1
    got = _row_psu(codes, n_strata)
    if codes.size:
        want = _nested_psu(codes, np.arange(codes.size))
        assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    assert got[0].dtype == np.int64 and got[1].dtype == np.int64


def test_rows_as_psus_in_a_design():
    d = Design(weights=np.ones(5), strata=["b", "a", "b", "a", "a"])
    # PSUs run through stratum a (rows 1, 3, 4), then b (rows 0, 2)
    assert d.psu.tolist() == [3, 0, 4, 1, 2]
    assert d.psu_stratum.tolist() == [0, 0, 0, 1, 1]
    assert d.n_psu.tolist() == [3, 2]
