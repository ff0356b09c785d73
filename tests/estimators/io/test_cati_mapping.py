"""Mapping a CATI column's values to codes (``estimators.io.cati``): once per
distinct value, yet booleans keep their own text (``True == 1`` in Python)."""

import numpy as np
import pandas as pd

from estimators.io import cati


def test_equal_values_share_a_code_and_booleans_keep_their_own():
    lookup = {"1": "one", "a": "code_a"}
    column = pd.Series(["1", 1.0, 1, "A", None, np.nan, "x"], dtype=object)
    assert cati._mapped(column, lookup).tolist() == [
        "one",
        "one",
        "one",
        "code_a",
        "not_asked",
        "not_asked",
        "x",
    ]
    with_bools = pd.Series([True, 1, 0, False, 1.0], dtype=object)
    assert cati._mapped(with_bools, lookup).tolist() == ["True", "one", "0", "False", "one"]


def test_validator_reads_cells_as_the_reader_does():
    """The validator's cell texts (mapped once per distinct value) are each
    cell's own: a boolean after an equal number, a bool column, blanks."""
    from estimators.io.validate import _canonical_codes

    column = pd.Series([1, True, 0.0, False, " ", None, 2.5, "b "], dtype=object)
    assert _canonical_codes(column).tolist() == [
        "1",
        "True",
        "0",
        "False",
        "not_asked",
        "not_asked",
        "2.5",
        "b",
    ]
    assert _canonical_codes(pd.Series([False, True, False])).tolist() == ["False", "True", "False"]
    assert _canonical_codes(pd.Series([1.0, np.nan, 3.0])).tolist() == ["1", "not_asked", "3"]


def test_only_a_column_of_objects_is_looked_through_for_booleans(monkeypatch):
    """An int, bool or nullable boolean column cannot mix booleans with
    numbers: its 0 and 1 are mapped once per distinct value, never cell by
    cell (was: every cell of such a column tested in Python), with the same
    texts."""
    from estimators.io import validate

    looked = []

    def is_bool(value):
        looked.append(value)
        return isinstance(value, (bool, np.bool_))

    monkeypatch.setattr(validate, "_is_bool", is_bool)
    assert validate._canonical_codes(pd.Series([0, 1, 1, 2])).tolist() == ["0", "1", "1", "2"]
    bools = pd.Series([True, False, True])
    assert validate._canonical_codes(bools).tolist() == ["True", "False", "True"]
    nullable = pd.Series([True, None, False], dtype="boolean")
    assert validate._canonical_codes(nullable).tolist() == ["True", "not_asked", "False"]
    assert looked == []
    mixed = pd.Series([1, True], dtype=object)
    assert validate._canonical_codes(mixed).tolist() == ["1", "True"]
    assert looked  # a column of objects still is
