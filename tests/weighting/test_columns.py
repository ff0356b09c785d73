"""weighting.columns: canonical category text and encoding of any column."""
import numpy as np
import pytest

from weighting.columns import canonical, encode
from weighting.errors import MissingValueError


@pytest.mark.parametrize("value,text", [(1, "1"), (1.0, "1"), (np.int8(3), "3"),
                                        (np.float32(2.0), "2"), (0.5, "0.5"),
                                        (0.1, "0.1"), ("01", "01"), (b"x", "x"),
                                        (True, "True")])
def test_canonical_text(value, text):
    assert canonical(value) == text


@pytest.mark.parametrize("values", [
    np.array([3, 1, 3, 2]), np.array([3.0, 1.0, 3.0, 2.0]),
    np.array(["3", "1", "3", "2"]), np.array([3, "1", 3.0, "2"], dtype=object),
    np.array([b"3", b"1", b"3", b"2"]), np.array([10**12 + 3, 1, 10**12 + 3, 2])])
def test_encoding_is_the_same_whatever_the_column_type(values):
    codes, categories = encode(values, "v")
    assert [categories[c] for c in codes] == [canonical(v) for v in values]
    assert codes[0] == codes[2] and len(set(codes.tolist())) == 3


def test_text_hash_collision_falls_back_to_sorting():
    # Same polynomial hash (c0*M^2 + c1*M + c2 with M = 1000003), different text.
    a, b = "a" + chr(1_000_003 + 65) + "b", "bAb"
    codes, categories = encode(np.array([a, b, a]), "v")
    assert categories == sorted([a, b]) and codes.tolist() == [0, 1, 0]


@pytest.mark.parametrize("values", [np.array([1.0, np.nan, 2.0, np.nan]),
                                    np.array(["a", "", "b", ""]),
                                    np.array(["a", None, "b", float("nan")], dtype=object)])
def test_missing_values_are_named_with_count_and_first_row(values):
    expected = r"'v' has 2 missing value\(s\) \(first at row 1\)"
    with pytest.raises(MissingValueError, match=expected):
        encode(values, "v")


def test_problem_cells_agree_for_raw_integer_and_text_columns():
    from weighting import CalibrationProblem, Margin
    rng = np.random.default_rng(2)
    small = rng.integers(-3, 3, 300)             # raw mixed-radix path
    huge = rng.choice([-(10**15), 7, 10**15], 300)  # range too wide: encoded path
    margins = [Margin("small", {k: 1.0 for k in range(-3, 3)}),
               Margin("huge", {k: 2.0 for k in (-(10**15), 7, 10**15)})]
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
