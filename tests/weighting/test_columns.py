"""weighting.columns: canonical category text and encoding of any column."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weighting.columns import (
    canonical,
    category_values,
    column,
    dense_range,
    encode,
    is_missing,
    n_rows,
    numeric,
    positive_weights,
)
from weighting.errors import KalibError, MissingValueError, WeightError


@pytest.mark.parametrize(
    "value,text",
    [
        (1, "1"),
        (1.0, "1"),
        (np.int8(3), "3"),
        (np.float32(2.0), "2"),
        (0.5, "0.5"),
        (0.1, "0.1"),
        ("01", "01"),
        (b"x", "x"),
        (True, "True"),
    ],
)
def test_canonical_text(value, text):
    assert canonical(value) == text


@pytest.mark.parametrize(
    "values",
    [
        np.array([3, 1, 3, 2]),
        np.array([3.0, 1.0, 3.0, 2.0]),
        np.array(["3", "1", "3", "2"]),
        np.array([3, "1", 3.0, "2"], dtype=object),
        np.array([b"3", b"1", b"3", b"2"]),
        np.array([10**12 + 3, 1, 10**12 + 3, 2]),
    ],
)
def test_encoding_is_the_same_whatever_the_column_type(values):
    codes, categories = encode(values, "v")
    assert [categories[c] for c in codes] == [canonical(v) for v in values]
    assert codes[0] == codes[2] and len(set(codes.tolist())) == 3


def test_text_hash_collision_falls_back_to_sorting():
    # Same polynomial hash (c0*M^2 + c1*M + c2 with M = 1000003), different text.
    a, b = "a" + chr(1_000_003 + 65) + "b", "bAb"
    codes, categories = encode(np.array([a, b, a]), "v")
    assert categories == sorted([a, b]) and codes.tolist() == [0, 1, 0]


@pytest.mark.parametrize(
    "values",
    [
        np.array([1.0, np.nan, 2.0, np.nan]),
        np.array(["a", "", "b", ""]),
        np.array(["a", None, "b", float("nan")], dtype=object),
    ],
)
def test_missing_values_are_named_with_count_and_first_row(values):
    expected = r"'v' has 2 missing value\(s\) \(first at row 2\)"
    with pytest.raises(MissingValueError, match=expected):
        encode(values, "v")


def test_problem_cells_agree_for_raw_integer_and_text_columns():
    from weighting import CalibrationProblem, Margin

    rng = np.random.default_rng(2)
    small = rng.integers(-3, 3, 300)  # raw mixed-radix path
    huge = rng.choice([-(10**15), 7, 10**15], 300)  # range too wide: encoded path
    margins = [
        Margin("small", {k: 1.0 for k in range(-3, 3)}),
        Margin("huge", {k: 2.0 for k in (-(10**15), 7, 10**15)}),
    ]
    ints = CalibrationProblem({"small": small, "huge": huge}, margins)
    text = CalibrationProblem({"small": small.astype(str), "huge": huge.astype(str)}, margins)
    assert sorted(ints.categories[0], key=int) == ints.categories[0]
    assert sorted(ints.categories[0]) == sorted(text.categories[0])
    # Same row-level design (columns in margin order), whatever the cell order.
    np.testing.assert_array_equal(ints.Xfull[ints.cell], text.Xfull[text.cell])


def test_margin_construction_and_its_errors():
    from weighting import Margin
    from weighting.errors import MarginError

    m = Margin.from_arrays(("sector", "size"), [("public", 1), ("public", 2.0)], [3, 4])
    assert m.table == {("public", "1"): 3.0, ("public", "2"): 4.0}
    assert m.name == "sector*size" and m.grand_total == 7.0
    with pytest.raises(MarginError, match=r"'nace': category nace=A has total -1"):
        Margin("nace", {"A": -1})
    with pytest.raises(MarginError, match=r"category \('x',\) has 1 value\(s\) for 2"):
        Margin(("a", "b"), {"x": 1})
    with pytest.raises(MarginError, match=r"category size=1 appears twice"):
        Margin("size", {1: 2.0, "1": 3.0})


# --- the one encoder, the size rule, the numeric coercer, n_rows -------------

OBJECTS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.5, -0.5]),
    st.sampled_from(["a", "b", "1", "2.5", ""]),
    st.booleans(),
    st.sampled_from([None, float("nan"), np.int64(1), np.bool_(False)]),
)


def _objects(values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@settings(max_examples=80, deadline=None)
@given(st.lists(OBJECTS, min_size=1, max_size=40), st.booleans())
def test_encoding_objects_row_by_row(values, use_pandas_hashing):
    """Codes point at each value's own canonical text (True is not 1), missing
    values get -1, categories are the distinct texts sorted; pandas' hashing
    (factorize=) groups the same way as the dict."""
    import pandas as pd

    codes, categories = encode(
        _objects(values),
        "v",
        missing="code",
        factorize=pd.factorize if use_pandas_hashing else None,
    )
    expected = [None if is_missing(v) else canonical(v) for v in values]
    assert [None if c < 0 else categories[c] for c in codes] == expected
    assert categories == sorted(set(t for t in expected if t is not None))


def test_booleans_are_true_and_false_in_every_column_type():
    for values in (np.array([True, False, True]), _objects([True, False, True])):
        codes, categories = encode(values, "flag")
        assert categories == ["False", "True"] and codes.tolist() == [1, 0, 1]
    codes, categories = encode(_objects([1, True, 0, False, 1.0]), "v")
    assert categories == ["0", "1", "False", "True"] and codes.tolist() == [1, 3, 0, 2, 1]


def test_missing_values_get_code_minus_one_or_are_named_with_the_role():
    values = np.array([2.0, np.nan, 1.0, np.nan])
    codes, categories = encode(values, "v", missing="code")
    assert codes.tolist() == [1, -1, 0, -1] and categories == ["1", "2"]
    with pytest.raises(MissingValueError, match=r"^design variable \(strata\) 'v' has 2 "):
        encode(values, "v", role="design variable (strata)")


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 50), st.integers(-1, 1), st.integers(-(10**6), 10**6))
def test_lookup_table_and_sort_number_integers_alike(n, side, low):
    """Around the size rule's threshold both ways give sorted codes."""
    span = 4 * n + 1024 + side  # just inside, at, or just outside dense_range
    assert dense_range(span, n) == (side <= 0)
    values = low + np.r_[0, span - 1, np.arange(n) % span]
    codes, categories = encode(values, "v")
    uniques, reference = np.unique(values, return_inverse=True)
    assert codes.tolist() == reference.tolist()
    assert categories == [str(u) for u in uniques.tolist()]


def test_numeric_reads_numbers_and_text_and_names_what_is_not():
    assert numeric(np.array([1, 2]), "x").dtype == np.float64
    np.testing.assert_array_equal(
        numeric(_objects(["1.5", None, "", 2, True, " 3 "]), "x"),
        [1.5, np.nan, np.nan, 2.0, 1.0, 3.0],
    )
    np.testing.assert_array_equal(numeric(np.array(["4", "", "1e3"]), "x"), [4, np.nan, 1000])
    with pytest.raises(
        WeightError,
        match=r"^weights 'w' is not numeric: 2 value\(s\) are not "
        r"numbers \(first at row 2: 'x'\)$",
    ):
        numeric(_objects([1.0, "x", "1_000"]), "weights 'w'", error=WeightError)
    with pytest.raises(KalibError, match="is not numeric"):
        numeric(np.array(["2020-01-01"], dtype="datetime64[D]"), "d")


def test_positive_weights_name_the_first_bad_row_in_plain_numbers():
    with pytest.raises(
        WeightError,
        match=r"w: 1 value\(s\) not positive and finite "
        r"\(first at row 3: nan\)",
    ):
        positive_weights(np.array([1.0, 2.0, np.nan]), "w", 3)
    with pytest.raises(WeightError, match=r"w have shape \(2,\), the sample has 3 rows"):
        positive_weights([1.0, 2.0], "w", 3)


def test_positive_weights_whose_total_overflows_are_an_error(recwarn):
    # each weight is finite, their sum is not: every estimate would be inf or
    # NaN after numpy's overflow warnings; said once, without a warning
    with pytest.raises(
        WeightError, match=r"^w: the 60 weights sum to more than 1.8e\+308 \(largest 1e\+307\)"
    ):
        positive_weights(np.full(60, 1e307), "w", 60)
    assert not recwarn.list
    assert positive_weights(np.full(3, 1e307), "w", 3).sum() == 3e307


def test_n_rows_of_a_frame_a_mapping_or_named_columns():
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]})
    assert n_rows(frame) == 3 and n_rows({"a": np.arange(4)}) == 4 and n_rows({}) == 0
    assert n_rows(frame, ["a", "b"]) == 3
    with pytest.raises(KalibError, match="columns have different lengths"):
        n_rows({"a": np.arange(3), "b": np.arange(4)}, ["a", "b"])


def test_n_rows_of_named_columns_reads_shapes_not_values():
    # Counting rows must not turn a column into an array (for pandas' text
    # columns that builds n Python strings); the checks stay the same.
    class Lazy:
        shape = (3,)

        def __array__(self, *args, **kwargs):
            raise AssertionError("the column was converted")

    assert n_rows({"a": Lazy(), "b": np.arange(3)}, ["a", "b"]) == 3
    with pytest.raises(KalibError, match="column 'c' is not in the data"):
        n_rows({"a": Lazy()}, ["a", "c"])
    with pytest.raises(KalibError, match="column 'm' is not one-dimensional"):
        n_rows({"m": np.zeros((3, 2))}, ["m"])


_TEXT = st.one_of(st.none(), st.sampled_from(["a", "b", "01", "1", "1.0", "", " x", "é"]))
_NUMBER = st.one_of(st.none(), st.integers(-3, 3))
_FLAG = st.one_of(st.none(), st.booleans())
# pandas extension types (they group their own values) and the values they hold
_EXTENSION = [
    ("str", _TEXT),
    ("string", _TEXT),
    ("category", _TEXT),
    ("Int64", _NUMBER),
    ("Float64", _NUMBER),
    ("boolean", _FLAG),
]


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(), kind=st.sampled_from(_EXTENSION), missing=st.sampled_from(["code", "raise"])
)
def test_an_extension_column_is_encoded_as_its_python_objects(data, kind, missing):
    # A pandas extension column of text is hashed by its own factorize
    # (category_values); it must give the codes and categories of the
    # per-value dict encoding of the same values as Python objects, and any
    # other extension column those of the numbers numpy makes of it.
    import pandas as pd

    dtype, values = kind
    array = pd.array(data.draw(st.lists(values, min_size=1, max_size=30)), dtype=dtype)
    frame = pd.DataFrame({"v": array})
    got = category_values(frame, "v")
    assert got is frame["v"].array  # not made an array of objects
    try:  # the encoding of the column as numpy makes it (weighting.columns.column)
        want = encode(column(frame, "v"), "v", missing=missing)
    except MissingValueError as exc:
        with pytest.raises(MissingValueError, match=f"^{re.escape(str(exc))}$"):
            encode(got, "v", missing=missing)
        return
    codes, categories = encode(got, "v", missing=missing)
    assert codes.tolist() == want[0].tolist() and categories == want[1]


def test_category_values_of_numpy_and_plain_columns_are_columns():
    import pandas as pd

    objects = pd.Series(["a", None], dtype=object)
    frame = pd.DataFrame({"i": [1, 2], "o": objects})
    for name in ("i", "o"):
        got = category_values(frame, name)
        assert isinstance(got, np.ndarray) and got.tolist() == frame[name].tolist()
    assert category_values({"t": ["x", "y"]}, "t").tolist() == ["x", "y"]
    with pytest.raises(KalibError, match="column 'z' is not in the data"):
        category_values(frame, "z")
