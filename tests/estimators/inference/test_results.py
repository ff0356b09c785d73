"""Results written from their columns (no pandas) and from their frame: the
same bytes (issue 14: the estimators hand over columns, the frame is made on
first use)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from reference.estimators.apistrat_designs import LIN

from estimators.inference import estimate as E
from estimators.inference.catalog import KeyRate, Published
from estimators.inference.domains import Equals, Everyone
from estimators.inference.results import ESTIMATE_COLUMNS, KEYRATE_COLUMNS, Results

ROWS = 4
texts = st.text(alphabet='ab ,"\n\r;1.-', max_size=5)
floats = st.floats(allow_nan=True, allow_infinity=True)
integers = st.integers(-(2**40), 2**40)
numbers = st.one_of(integers, floats, st.none())
columns = st.one_of(
    st.lists(floats, min_size=ROWS, max_size=ROWS).map(lambda v: np.array(v, dtype=np.float64)),
    st.lists(integers, min_size=ROWS, max_size=ROWS).map(lambda v: np.array(v, dtype=np.int64)),
    st.lists(texts, min_size=ROWS, max_size=ROWS).map(lambda v: np.array(v, dtype=object)),
    st.lists(st.one_of(texts, st.none()), min_size=ROWS, max_size=ROWS),
    st.lists(numbers, min_size=ROWS, max_size=ROWS),
    st.lists(integers, min_size=ROWS, max_size=ROWS),
)


def written(results, path, columns):
    results.to_csv(path, columns=columns, force=True)
    return path.read_bytes()


def assert_same_bytes(results, tmp_path, columns=ESTIMATE_COLUMNS):
    """``results`` (its frame not yet made) written from its columns, then
    from its frame."""
    from_columns = written(results, tmp_path / "columns.csv", columns)
    framed = Results(results.frame, results.attrs)  # made from the frame
    assert written(framed, tmp_path / "frame.csv", columns) == from_columns


@settings(max_examples=150, deadline=None)
@given(st.lists(columns, min_size=1, max_size=4))
def test_columns_are_written_as_pandas_writes_their_frame(tmp_path_factory, values):
    tmp_path = tmp_path_factory.mktemp("csv")
    names = [f"c{i}" for i in range(len(values))]
    results = Results.of_columns(dict(zip(names, values)), {})
    assert_same_bytes(results, tmp_path, names)


def test_estimates_are_written_as_from_their_frame(tmp_path):
    # an empty domain (no estimate: NaN cells), a ratio, a proportion's
    # logit interval
    empty = Equals("stype", "E")
    results = [
        E.svymean(LIN, ["api00", "meals"], by=["all", "stype*awards"], where=~empty),
        E.svyratio(LIN, "api00", "high", by=["stype"]),
        E.svyprop(LIN, "awards", "Yes", by=["stype"]),
    ]
    for r in results:
        assert_same_bytes(r, tmp_path)
    assert (results[0].frame["flag"] == "empty").any()


def test_key_rates_with_published_values_are_written_as_from_their_frame(tmp_path):
    # a mean rate publishes the mean itself: an integer, a float and none
    # (NaN) in one column, which pandas makes a float column
    rates = [
        KeyRate(
            "r1",
            "mean api00",
            Everyone(),
            Everyone(),
            published=Published(650, 0, 1),
            published_by={("stype", "E"): Published(700.5, 1, 2)},
            mean_of="api00",
        ),
        KeyRate("r2", "award winners", Equals("awards", "Yes"), Everyone()),
    ]
    r = E.estimate_items(LIN, E.rate_items(LIN, rates), ["all", "stype"])
    assert_same_bytes(r, tmp_path, KEYRATE_COLUMNS)  # before the frame is made
    published = r.frame["published"]
    assert published.isna().any() and (published == 650).any()
