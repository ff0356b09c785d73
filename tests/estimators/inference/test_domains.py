"""Domain codes, canonical text columns and conditions against a row-by-row
reference (each value made canonical on its own, labels joined and sorted)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.inference.domains import (
    Chosen,
    Equals,
    NotMissing,
    OneOf,
    _sort_key,
    combinations,
    domain_codes,
    factor,
    text_column,
)
from weighting.columns import canonical, is_missing
from weighting.errors import KalibError, MissingValueError

# category values as they come in survey files: codes, floats that are
# integers, text that reads like a number, booleans, and missing values
VALUES = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.0, 1.0, 2.0, 2.5, -0.5]),
    st.sampled_from(["a", "b", "1", "2", "a*b", "10-19", "5-9"]),
    st.booleans(),
    st.sampled_from([np.int64(1), np.float64(2.0), np.bool_(True)]),
)
MISSING = st.sampled_from([None, np.nan, ""])


def reference_text(value):
    return None if is_missing(value) else canonical(value)


def as_boolean(texts, value):
    """The comparison rule: in a column of only True and False, a value is
    read as a boolean (1, "1", "true" are True; 0, "0", "false" False)."""
    text = canonical(value)
    present = {t for t in texts if t is not None}
    if present and present <= {"True", "False"}:
        return {"1": "True", "true": "True", "0": "False", "false": "False"}.get(
            text.lower(), text
        )
    return text


def column(values):
    """An object column: numpy would turn a mix into strings."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@st.composite
def frames(draw, parts=1, missing=False):
    n = draw(st.integers(1, 30))
    values = st.one_of(VALUES, MISSING) if missing else VALUES
    return pd.DataFrame(
        {f"v{p}": column(draw(st.lists(values, min_size=n, max_size=n))) for p in range(parts)}
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3).flatmap(lambda parts: frames(parts)))
def test_codes_and_labels_round_trip(frame):
    spec = "*".join(frame.columns)
    codes, labels = domain_codes(frame, spec)
    expected = [
        "*".join(canonical(frame[c].iloc[i]) for c in frame.columns) for i in range(len(frame))
    ]
    assert [labels[c] for c in codes] == expected
    assert sorted(set(expected), key=lambda s: tuple(_sort_key(x) for x in s.split("*"))) == labels
    # a plain dict of arrays reads like the frame
    as_dict = {c: frame[c].to_numpy() for c in frame.columns}
    dict_codes, dict_labels = domain_codes(as_dict, spec)
    np.testing.assert_array_equal(dict_codes, codes)
    assert dict_labels == labels


@settings(max_examples=60, deadline=None)
@given(frames(missing=True), st.sampled_from(["a", "1", 1, 1.0, True, "True", 2.5]))
def test_text_column_and_conditions_row_by_row(frame, value):
    raw = frame["v0"].tolist()
    text = text_column(frame, "v0")
    assert text.tolist() == [reference_text(v) for v in raw]
    assert text.dtype == object
    codes, categories = factor(frame, "v0")
    assert len(set(categories)) == len(categories)
    assert [categories[c] if c >= 0 else None for c in codes] == text.tolist()
    np.testing.assert_array_equal(
        Equals("v0", value).mask(frame), [t == as_boolean(text, value) for t in text]
    )
    wanted = {as_boolean(text, value), as_boolean(text, "a")}
    np.testing.assert_array_equal(
        OneOf("v0", (value, "a")).mask(frame), [t in wanted for t in text]
    )
    np.testing.assert_array_equal(NotMissing("v0").mask(frame), [t is not None for t in text])
    chosen = pd.DataFrame({"q.x": frame["v0"]})
    np.testing.assert_array_equal(
        Chosen("q", "x").mask(chosen), [t in {"1", "True", "yes"} for t in text]
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=30), st.integers(0, 2**40))
def test_integer_columns_by_lookup_table_and_by_hashing_agree(values, shift):
    # a small range takes the lookup table, a wide one pd.factorize
    small = np.array(values) % 7 - 3
    wide = np.array(values) + shift
    for array in (small, wide):
        codes, categories = factor({"v": array}, "v")
        assert [categories[c] for c in codes] == [str(v) for v in array]
        as_float = factor({"v": array.astype(float)}, "v")
        assert [as_float[1][c] for c in as_float[0]] == [str(v) for v in array]


def test_merged_values_and_crosses():
    frame = pd.DataFrame(
        {
            "a": column([1, 1.0, "1", True, 1, "x", 0, False, 2.0]),
            "b": column(["p", "p", "p", "p", "q", "q", "q", "q", "p"]),
        }
    )
    codes, labels = domain_codes(frame, "a*b")
    assert labels == ["0*q", "1*p", "1*q", "2*p", "False*q", "True*p", "x*q"]
    assert [labels[c] for c in codes] == [
        "1*p",
        "1*p",
        "1*p",
        "True*p",
        "1*q",
        "x*q",
        "0*q",
        "False*q",
        "2*p",
    ]
    # a text holding the cross separator can spell another combination's label
    tricky = pd.DataFrame({"a": ["x*y", "x"], "b": ["z", "y*z"]})
    codes, labels = domain_codes(tricky, "a*b")
    assert labels == ["x*y*z"] and list(codes) == [0, 0]


def test_sizes_sort_numerically():
    frame = pd.DataFrame({"size": ["5-19", "50+", "1-4", "20-49", "5-19"]})
    codes, labels = domain_codes(frame, "size")
    assert labels == ["1-4", "5-19", "20-49", "50+"]
    assert list(codes) == [1, 3, 0, 2, 1]


@pytest.mark.parametrize("missing", [None, np.nan, ""])
def test_missing_domain_value_is_an_error_naming_variable_count_and_row(missing):
    frame = pd.DataFrame(
        {"a": column(["x", "y", "x", "y"]), "b": column(["p", missing, "q", missing])}
    )
    with pytest.raises(
        MissingValueError, match=r"domain variable 'b' has 2 missing value\(s\) \(first at row 2\)"
    ):
        domain_codes(frame, "a*b")
    with pytest.raises(KalibError, match="column 'c' is not in the data"):
        domain_codes(frame, "a*c")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 0), st.integers(0, 40)),
        min_size=1,
        max_size=50,
    )
)
def test_combinations_are_the_distinct_rows_in_order(rows):
    codes = [np.array(part, dtype=np.int64) for part in zip(*rows)]
    for sizes in ([3, 1, 41], [3, 1, 10**9]):  # presence by counting, then by sorting
        joint, combos = combinations(codes, sizes)
        assert [tuple(c) for c in combos] == sorted(set(rows))
        assert [tuple(combos[j]) for j in joint] == rows
