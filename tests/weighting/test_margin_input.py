"""Population totals given to the Python API must be numbers: text (``"5"``)
is the sign of a table read without converting its numbers, and is refused
with a MarginError naming the margin, the category and the value."""

from __future__ import annotations

import numpy as np
import pytest

from estimators.io.files import read_margins
from weighting import Margin
from weighting.errors import MarginError
from weighting.margins import NumericTotal


@pytest.mark.parametrize(
    "total, shown",
    [("5", "'5': text"), (np.str_("5"), "'5': text"), (b"5", "\"b'5'\": text")],
)
def test_a_total_given_as_text_is_refused_by_name(total, shown):
    with pytest.raises(MarginError) as info:
        Margin("sector", {"u": total, "v": 3})
    assert str(info.value) == f"margin 'sector': category sector=u has total {shown}, not a number"


def test_a_total_of_a_cross_names_the_cell():
    with pytest.raises(
        MarginError, match=r"^margin 'sector\*size': category sector\*size=\(u, 1\) has total '7'"
    ):
        Margin(("sector", "size"), {("u", 1): "7", ("v", 1): 2.0})


@pytest.mark.parametrize("total", [None, [1], object()])
def test_a_total_that_is_no_number_at_all_is_a_margin_error(total):
    # float() of these raised a TypeError naming nothing
    with pytest.raises(MarginError, match=r"^margin 'sector': category sector=u has total .*"):
        Margin("sector", {"u": total})


def test_a_numeric_total_given_as_text_is_refused():
    with pytest.raises(MarginError, match=r"^numeric variable 'emp' has total '1000': text"):
        NumericTotal("emp", "1000")


def test_numbers_of_any_numeric_type_are_read():
    margin = Margin("s", {"a": 1, "b": np.int64(2), "c": np.float32(2.5), "d": 4.25})
    assert margin.table == {("a",): 1.0, ("b",): 2.0, ("c",): 2.5, ("d",): 4.25}
    assert all(type(t) is float for t in margin.table.values())
    assert NumericTotal("emp", np.int64(7)).total == 7.0


def test_a_margin_file_still_gives_numbers(tmp_path):
    # the file reader converts its text totals (here with a decimal comma)
    path = tmp_path / "m.csv"
    path.write_text("sector;total\nu;5\nv;2,5\n")
    assert read_margins(path).table == {("u",): 5.0, ("v",): 2.5}
