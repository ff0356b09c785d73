"""Category labels in messages: a category that differs invisibly from
another (blanks at an end, a control character, empty) is shown quoted."""

import pandas as pd
import pytest
from repo_paths import REFERENCE

from estimators.cli import main
from weighting import Margin


@pytest.mark.parametrize(
    "key,label",
    [
        (("a",), "m=a"),
        (("a b",), "m=a b"),
        (("a ",), "m='a '"),
        ((" a",), "m=' a'"),
        (("a,\nb",), "m='a,\\nb'"),
        (("a\xa0",), "m='a\\xa0'"),
        (("",), "m=''"),
        (("x", "y "), "m=(x, 'y ')"),
    ],
)
def test_a_label_quotes_only_what_would_be_invisible(key, label):
    margin = Margin(("v",) * len(key) if len(key) == 1 else ("v", "w"), {key: 1.0}, name="m")
    assert margin.label(key) == label


@pytest.mark.parametrize("sample_value,fragment", [("E ", "stype='E '"), ("E,\nx", "\\n")])
def test_a_sample_category_differing_invisibly_is_shown_quoted(
    tmp_path, capsys, sample_value, fragment
):
    # was: "1 sample category missing from margin 'stype': stype=E  (1 respondents)"
    # (the blank invisible), and a newline split the one-line error over two
    frame = pd.read_csv(REFERENCE / "model" / "apistrat.csv")
    frame.loc[0, "stype"] = sample_value
    frame.to_csv(tmp_path / "s.csv", index=False)
    margin = tmp_path / "m.csv"
    margin.write_text("stype,total\nE,4421\nH,755\nM,1018\n")
    argv = ["rake", str(tmp_path / "s.csv"), "--weight", "pw", "--margins", str(margin)]
    assert main([*argv, "--out", str(tmp_path / "o.csv"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kalib ") and fragment in err, err
