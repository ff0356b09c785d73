"""``--where`` by Python's parser with a whitelist (issue 17, item 7): quoting,
parentheses, ``in``, order comparisons and backquoted names work; anything
else is a one-line error naming the part; a missing value follows SQL's
three-valued logic (checked against a row-by-row evaluation of random
expressions)."""

import operator

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.cli import main
from estimators.inference.domains import CategoryError, parse_where
from weighting.errors import KalibError

DATA = pd.DataFrame(
    {
        "grp": ["a or b", "c", "a or b", "d and e", None, "c", "(x)", "c"],
        "size_class": ["1-4", "50+", "5-19", "50+", "1-4", None, "20-49", "5-19"],
        "y": [1.0, 2.5, np.nan, 4.0, 5.0, 6.0, 7.0, -1.0],
        "nace": ["01", "10", "01", "A", "10", "01", None, "A"],
        "my col": [1, 2, 1, 2, 1, 2, 1, 2],
        "reasons.csr": [1, 0, 1, 0, 0, 1, 1, 0],
        "flag": [True, False, True, True, False, False, True, False],
    }
)


def rows(expr):
    return np.flatnonzero(parse_where(expr).mask(DATA)).tolist()


@pytest.mark.parametrize(
    "expr, expected",
    [
        # quoting: " or " and " and " inside quotes are part of the value
        ("grp == 'a or b'", [0, 2]),
        ("grp == \"d and e\" or grp == '(x)'", [3, 6]),
        # unquoted values, as the hand-written parser took them
        ("size_class == 50+", [1, 3]),
        ("size_class != 1-4 and grp == c", [1, 7]),
        # parentheses change the grouping that and/or precedence gives
        ("grp == c and (size_class == 50+ or size_class == 5-19)", [1, 7]),
        ("grp == c and size_class == 50+ or size_class == 5-19", [1, 2, 7]),
        # in / not in, with codes that keep their leading zero
        ("nace in ('01', A)", [0, 2, 3, 5, 7]),
        ("nace not in (01, 10)", [3, 7]),
        ("size_class in (1-4, 5-19)", [0, 2, 4, 7]),
        # numbers: order comparisons and chains, either side
        ("y > 2", [1, 3, 4, 5, 6]),
        ("2 < y <= 5", [1, 3, 4]),
        ("-1 >= y", [7]),
        # backquoted and dotted column names
        ("`my col` == 2 and `reasons.csr` == 1", [5]),
        ("reasons.csr == 1", [0, 2, 5, 6]),
        # booleans compared as booleans (1 is True)
        ("flag == 1", [0, 2, 3, 6]),
        ("flag != True and y < 3", [1, 7]),
    ],
)
def test_expressions(expr, expected):
    assert rows(expr) == expected


def test_a_missing_value_satisfies_no_comparison_and_no_negation():
    # row 4 has no grp, row 5 no size_class, row 2 no y
    assert 4 not in rows("grp == c") + rows("grp != c") + rows("not grp == c")
    assert 5 not in rows("size_class != 1-4") + rows("not (size_class in (1-4))")
    assert 2 not in rows("y > 0") + rows("not y > 0") + rows("y <= 0")
    # unknown or true is true; unknown and false is false, not unknown
    assert 4 in rows("grp == c or y == 5")
    assert 4 in rows("not (grp == c and y == 4)")


def test_the_old_grammar_still_reads():
    # and binds tighter than or, as before; a value may be quoted or not
    where = parse_where("size_class == 1-4 and grp == 'a or b' or nace != 01")
    assert str(where) == "(size_class == '1-4' and grp == 'a or b') or nace != '01'"
    assert where.variables() == {"size_class", "grp", "nace"}


@pytest.mark.parametrize(
    "expr, part",
    [
        ("grp", "'grp'"),  # a column alone
        ("grp == f(1)", "'f(1)'"),  # a call
        ("__import__('os').system('true') == 1", "__import__"),
        ("grp.upper() == 'C'", "'grp.upper()'"),  # a method call
        ("grp[0] == 'c'", "'grp[0]'"),  # a subscript
        ("y + 1 > 2", "'y + 1'"),  # arithmetic on a column
        ("grp == (lambda: 1)", "lambda"),
        ("grp is None", "'grp is None'"),
        ("grp == None", "'None'"),
        ("y < abc", "'abc'"),  # an order needs a number
        ("grp in c", "'c'"),  # in needs a list
        ("grp in ()", "'()'"),
        ("grp = c", "compare with =="),
        ("grp == c #and y > 1", "'#' outside quotes"),
        ("`grp == c", "backquote is not closed"),
        ("grp == 'c", "cannot parse"),
    ],
)
def test_anything_else_is_a_one_line_error_naming_the_part(expr, part):
    with pytest.raises(KalibError) as caught:
        parse_where(expr).mask(DATA)
    message = str(caught.value)
    assert message.startswith("--where: ") and part in message and "\n" not in message


def test_nothing_is_evaluated(tmp_path):
    target = tmp_path / "ran"
    for expr in (
        f"grp == __import__('os').system('touch {target}')",
        f"grp == open('{target}', 'w')",
        f"grp in (__import__('pathlib').Path('{target}').touch(),)",
    ):
        with pytest.raises(KalibError):
            parse_where(expr).mask(DATA)
    assert not target.exists()


def test_a_value_that_is_no_category_names_the_categories():
    with pytest.raises(
        CategoryError,
        match=r"'e' is not a category of 'grp' \(its categories: "
        r"\(x\), a or b, c, d and e\)",
    ):
        parse_where("grp == c or grp == e").mask(DATA)
    with pytest.raises(CategoryError, match="'1' is not a category of 'nace'"):
        parse_where("nace == 1").mask(DATA)  # the code is 01
    with pytest.raises(KalibError, match="'grp' is not numeric"):
        parse_where("grp < 3").mask(DATA)


# -- three-valued logic against a row-by-row evaluation ------------------------------

COLUMNS = {"a": ["x", "y", "z"], "b": [1, 2, 3, 4]}


@st.composite
def frames(draw):
    n = draw(st.integers(8, 20))
    # every category occurs (rows 0..), then random values and missing ones
    a = COLUMNS["a"] + draw(
        st.lists(st.sampled_from(COLUMNS["a"] + [None]), min_size=n, max_size=n)
    )
    b = COLUMNS["b"] + draw(
        st.lists(st.sampled_from(COLUMNS["b"] + [None]), min_size=len(a) - 4, max_size=len(a) - 4)
    )
    return pd.DataFrame({"a": a, "b": pd.array(b, dtype="Float64").astype(float)})


def leaves():
    return st.one_of(
        st.tuples(st.just("a"), st.sampled_from(["==", "!="]), st.sampled_from(COLUMNS["a"])),
        st.tuples(
            st.just("b"),
            st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
            st.sampled_from(COLUMNS["b"]),
        ),
        st.tuples(
            st.just("a"),
            st.sampled_from(["in", "not in"]),
            st.lists(st.sampled_from(COLUMNS["a"]), min_size=1, max_size=2).map(tuple),
        ),
    )


trees = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.tuples(st.just("not"), inner), st.tuples(st.sampled_from(["and", "or"]), inner, inner)
    ),
    max_leaves=6,
)


def written(tree) -> str:
    if tree[0] == "not":
        return f"not ({written(tree[1])})"
    if tree[0] in ("and", "or"):
        return f"({written(tree[1])}) {tree[0]} ({written(tree[2])})"
    column, op, value = tree
    if op in ("in", "not in"):
        return f"{column} {op} ({', '.join(value)},)"
    return f"{column} {op} {value}"


def truth(tree, row):
    """SQL's three-valued logic on one row: True, False or None (unknown)."""
    if tree[0] == "not":
        t = truth(tree[1], row)
        return None if t is None else not t
    if tree[0] in ("and", "or"):
        left, right = truth(tree[1], row), truth(tree[2], row)
        decisive = tree[0] == "or"  # True decides or, False decides and
        if decisive in (left, right):
            return decisive
        return None if None in (left, right) else not decisive
    column, op, value = tree
    x = row[column]
    if x is None or x != x:
        return None
    return {
        "==": operator.eq,
        "!=": operator.ne,
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
        "in": lambda x, v: x in v,
        "not in": lambda x, v: x not in v,
    }[op](x, value)


@settings(max_examples=150, deadline=None)
@given(frames(), trees)
def test_three_valued_logic_row_by_row(frame, tree):
    mask = parse_where(written(tree)).mask(frame)
    expected = [truth(tree, row) is True for row in frame.to_dict("records")]
    assert mask.tolist() == expected


# -- the command line --------------------------------------------------------------


def test_the_command_line_reads_quoted_values_and_parentheses(tmp_path):
    sample = tmp_path / "s.csv"
    DATA.assign(id=range(len(DATA))).to_csv(sample, index=False)
    out = tmp_path / "o.csv"
    assert (
        main(
            [
                "estimate",
                str(sample),
                "--mean",
                "y",
                "--where",
                "grp == 'a or b' or (grp == c and size_class != 50+)",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    row = pd.read_csv(out).iloc[0]
    # rows 0, 2 and 7 (row 5's size_class is missing; row 2's y is, so it is
    # not in the mean's base)
    assert row["n"] == 2 and row["estimate"] == pytest.approx((1.0 - 1.0) / 2)
