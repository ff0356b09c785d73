"""Model frames from patsy formulas, with errors that name the offender.

The design matrix is built as statsmodels builds it (patsy, treatment
contrasts, levels in sorted order so the reference level is the first), and
rows with a missing model variable are left out of the fit but stay in the
design: like R's ``svyglm``, the model is then fitted on a domain, and its
variance still uses every stratum and PSU of the full design.

patsy evaluates each term of a formula with Python's ``eval``, so a formula
from a shared file could run any code (``I(__import__('os').system(...))``).
Every term is therefore parsed (:mod:`ast`) and checked against a whitelist
before patsy sees it (:func:`formula_variables`), and patsy evaluates in a
namespace holding only the whitelisted functions:

* data columns (``Q('any name')`` for a name that is not an identifier);
* ``C(x)``, ``C(x, Treatment('b'))`` (and ``Sum``, ``Diff``, ``Helmert``,
  ``Poly``), ``C(x, levels=[...])``; ``I(...)``;
* ``log``, ``exp``, ``sqrt`` and ``np.`` (or ``numpy.``) ``log``, ``exp``,
  ``sqrt``, ``log1p``, ``log2``, ``log10``, ``abs``; ``abs``;
* patsy's stateful transforms ``center``, ``standardize``, ``scale`` and
  splines ``bs``, ``cr``, ``cc`` (their means, scales and knots come from
  the rows of the fit, and are kept for predictions, as in R's ``scale`` in
  a model frame: deterministic, no code);
* numbers and quoted text; arithmetic ``+ - * / ** % //``, comparisons
  ``== != < <= > >=`` and ``& | ~`` (to combine comparisons in ``I()``).

Anything else (another call, an attribute, a subscript, ``lambda``, a
comprehension) is a :class:`FormulaError` naming the term.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from weighting.errors import shown

from .errors import FormulaError

# The functions a formula may call: patsy's own (in every patsy namespace),
# and the names bound in _NAMESPACE; numpy's by attribute (np.log).
_PATSY_FUNCTIONS = {"C", "I", "Q", "center", "standardize", "scale", "bs", "cr", "cc"}
_CONTRASTS = {"Treatment", "Sum", "Diff", "Helmert", "Poly"}
_NUMPY = {"log", "exp", "sqrt", "log1p", "log2", "log10", "abs"}
_NAMESPACE = {"np": np, "numpy": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}
_FUNCTIONS = _PATSY_FUNCTIONS | _CONTRASTS | set(_NAMESPACE) - {"np", "numpy"}
# Python's syntax a term may use besides names, calls and constants
_ALLOWED_NODES = (
    ast.Expression,
    ast.Constant,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.List,
    ast.Tuple,
    ast.keyword,
    ast.Load,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.Pow,
    ast.Mod,
    ast.FloorDiv,
    ast.BitAnd,
    ast.BitOr,
    ast.BitXor,
    ast.USub,
    ast.UAdd,
    ast.Invert,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
)


@dataclass
class ModelFrame:
    """The response and design matrix of a formula on one data frame.

    Attributes
    ----------
    y : ndarray (n_used,)
    X : ndarray (n_used, p)
    used : ndarray of bool (n,)
        Rows of the data that enter the fit (no missing model variable).
    response : str
        The response as written (``I(trainee_now == 'yes')`` etc.).
    terms : list of str
        Column names as patsy writes them (``Intercept``, ``sector[T.public]``).
    term_columns : dict
        Formula term (``sector``, ``ell``) -> indices of its columns, the
        groups a Wald test of a term tests together.
    design_info : patsy.DesignInfo
        Rebuilds the design matrix on new data (predictive margins).
    """

    y: np.ndarray
    X: np.ndarray
    used: np.ndarray
    response: str
    terms: list
    term_columns: dict
    design_info: patsy.DesignInfo

    def design_matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The design matrix of ``data`` (all rows) with this frame's coding."""
        (X,) = patsy.build_design_matrices(
            [self.design_info], numpy_dtypes(data), NA_action="raise"
        )
        return np.asarray(X, dtype=float)

    def counterfactual_matrices(self, data: pd.DataFrame, variable: str, values) -> list:
        """The design matrices of the fitted rows with ``variable`` set to each
        of ``values`` in turn (predictive margins): ``X(a)``, the
        :meth:`design_matrix` of ``data.loc[used].assign(variable=a)``.

        Only the columns of the terms that involve ``variable`` change, and
        when each of their factors is a function of ``variable`` alone
        (``sector``, ``C(sector)``, not an interaction with another
        variable) those columns are the same in every row: they are taken
        from the design matrix of one row per value and put into a copy of
        ``X``, so patsy codes ``len(values)`` rows instead of
        ``len(values) * n``. Otherwise every matrix is built by patsy.

        ``data`` is the frame's data (all rows, as the fit had them).
        """
        changed, mixed = [], False
        for term in self.design_info.terms:
            involved = [factor_variables(factor) for factor in term.factors]
            if any(variable in names for names in involved):
                changed += self.term_columns.get(term.name(), [])
                mixed |= any(names != [variable] for names in involved)
        if mixed:
            fitted = data.loc[self.used]
            return [self.design_matrix(fitted.assign(**{variable: a})) for a in values]
        first = int(np.flatnonzero(self.used)[0])
        rows = self.design_matrix(
            data.iloc[[first] * len(values)].assign(**{variable: list(values)})
        )
        out = []
        for k in range(len(values)):
            X = np.array(self.X, order="C")
            X[:, changed] = rows[k, changed]
            out.append(X)
        return out


def factor_variables(factor) -> list:
    """The data columns one patsy factor (``sector``, ``C(sector)``,
    ``I(x * z)``) is a function of."""
    return formula_variables(f"y ~ {factor.name()}", rhs_only=True)


def formula_variables(formula: str, rhs_only: bool = False) -> list:
    """The data column names a formula refers to (in order of appearance);
    with ``rhs_only``, those of the predictors only.

    Every term is checked against the whitelist of the module docstring
    (all of them, whatever ``rhs_only``): patsy parses the formula without
    evaluating anything, and a term it would evaluate with something else
    is a :class:`FormulaError` naming the term.
    """
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise FormulaError(
            f"cannot parse formula {formula!r}: {str(exc).splitlines()[0]}"
        ) from None
    names, rhs = [], []
    for side, terms in (("lhs", desc.lhs_termlist), ("rhs", desc.rhs_termlist)):
        for term in terms:
            for factor in term.factors:
                found = _term_variables(factor.name(), formula)
                names += found
                if side == "rhs":
                    rhs += found
    return list(dict.fromkeys(rhs if rhs_only else names))


def _term_variables(code: str, formula: str) -> list:
    """The columns one term names, after checking it against the whitelist."""

    def refuse(why: str):
        return FormulaError(
            f"formula {formula!r}: the term {code!r} {why}; a formula "
            f"may call only {', '.join(sorted(_FUNCTIONS))} and "
            f"np.{{{','.join(sorted(_NUMPY))}}}"
        )

    # a column whose name is no Python name (CATI exports have dotted ones)
    # reads as an attribute or does not parse: say how to name it
    quote = f"; if {code!r} is a column, write it Q({code!r})"
    try:
        tree = ast.parse(code, mode="eval")
    except SyntaxError:
        raise FormulaError(
            f"cannot parse the term {code!r} of formula {formula!r}{quote}"
        ) from None
    names, functions = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = _function_name(node.func)
            if function is None:
                raise refuse(f"calls {ast.unparse(node.func)!r}")
            functions.update({id(node.func), id(getattr(node.func, "value", None))})
            if function == "Q":
                if (
                    len(node.args) != 1
                    or node.keywords
                    or not (
                        isinstance(node.args[0], ast.Constant)
                        and isinstance(node.args[0].value, str)
                    )
                ):
                    raise refuse("uses Q() other than as Q('column name')")
                names.append(node.args[0].value)
            if any(k.arg is None for k in node.keywords):
                raise refuse("unpacks arguments (**)")
        elif isinstance(node, ast.Attribute):
            if id(node) not in functions:
                hint = quote if ast.unparse(node) == code.strip() else ""
                raise FormulaError(f"{refuse(f'reads the attribute {ast.unparse(node)!r}')}{hint}")
        elif isinstance(node, ast.Name):
            if id(node) not in functions and node.id not in _CONTRASTS:
                names.append(node.id)
        elif not isinstance(node, _ALLOWED_NODES):
            raise refuse(f"uses {type(node).__name__} syntax ({ast.unparse(node)!r})")
    return names


def _function_name(func):
    """The whitelisted function a call calls (``log``, ``np.log``), or None."""
    if isinstance(func, ast.Name) and func.id in _FUNCTIONS:
        return func.id
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in ("np", "numpy")
        and func.attr in _NUMPY
    ):
        return f"np.{func.attr}"
    return None


def numpy_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with pandas' nullable columns (parquet's ``Int64``,
    ``boolean``, ``string``) as numpy ones, which is all patsy reads: integers
    as int64 (float64 while a value is missing), booleans as bool (object
    while one is missing), text as object; a missing value of an object
    column becomes None, which patsy reads as missing (``pd.NA`` it takes
    for a level the model does not know)."""
    converted = {}
    for name, column in frame.items():
        dtype = column.dtype
        if not isinstance(dtype, pd.api.extensions.ExtensionDtype) or isinstance(
            dtype, pd.CategoricalDtype
        ):
            continue
        missing = bool(column.isna().any())
        if pd.api.types.is_bool_dtype(dtype) and not missing:
            converted[name] = column.astype(bool)
        elif pd.api.types.is_integer_dtype(dtype):
            converted[name] = column.astype(float if missing else np.int64)
        elif pd.api.types.is_float_dtype(dtype):
            converted[name] = column.astype(float)
        else:
            converted[name] = column.astype(object).where(column.notna(), None)
    return frame.assign(**converted) if converted else frame


def _response(y: pd.DataFrame, formula: str) -> tuple:
    """Reduce patsy's response to one numeric column.

    A logical response such as ``I(x == 'yes')`` comes back from patsy as the
    two indicator columns ``...[False]`` and ``...[True]``; the ``[True]`` one
    is the 0/1 response. Any other categorical response is refused, also one
    of a single level (its one indicator column would be fitted as 1).
    """
    cols = list(y.columns)
    if len(cols) == 2 and cols[0].endswith("[False]") and cols[1].endswith("[True]"):
        return y[cols[1]].to_numpy(dtype=float), cols[1][: -len("[True]")]
    factors = y.design_info.factor_infos.values()
    if len(cols) != 1 or any(f.type == "categorical" for f in factors):
        levels = ", ".join(cols[:4])
        raise FormulaError(
            f"the response of {formula!r} is categorical ({levels}...); write it as "
            f"0/1 or as I(VAR == 'code')"
        )
    return y[cols[0]].to_numpy(dtype=float), cols[0]


def _refuse_empty_terms(info: patsy.DesignInfo, formula: str, n_used: int) -> None:
    """A term without a column (a factor with one level among the rows of the
    fit, as ``--where`` can leave it) would silently drop out of the model."""
    for term in info.terms:
        columns = info.term_name_slices[term.name()]
        if columns.stop > columns.start:
            continue
        single = [
            (f.name(), info.factor_infos[f].categories)
            for f in term.factors
            if info.factor_infos[f].type == "categorical"
            and len(info.factor_infos[f].categories) < 2
        ]
        why = (
            f"{single[0][0]!r} has the one level {single[0][1][0]!r}"
            if single
            else "it has no column"
        )
        raise FormulaError(
            f"formula {formula!r}: the term {term.name()!r} cannot be estimated: {why} in "
            f"the {n_used} rows of the fit (rows outside the subset or --where, or with "
            f"a missing model variable, are left out); leave the term out of the formula "
            f"or widen the subset"
        )


def _refuse_infinite(columns: pd.DataFrame, formula: str) -> None:
    """An infinite value in the response or a model column (``inf`` in the
    data, ``log(0)``) is an error naming the column and its first row, as R's
    ``glm`` stops on "NA/NaN/Inf in 'x'"; the fit would otherwise fail in its
    Newton iteration without naming either."""
    values = columns.to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    row, column = (int(k[0]) for k in np.nonzero(bad))
    position = int(columns.index[row])  # the data's row (the frame keeps its index)
    raise FormulaError(
        f"formula {formula!r}: the model column {columns.columns[column]!r} is not finite "
        f"in {int(bad[:, column].sum())} row(s) (first at row {position + 1}: "
        f"{shown(values[row, column])})",
        row=position,
    )


def build_model_frame(formula: str, data: pd.DataFrame, subset=None) -> ModelFrame:
    """Evaluate ``formula`` on the complete rows of ``data``.

    A row enters the fit when none of the variables the formula names is
    missing (tested on the columns themselves, so that ``I(x == 'yes')`` with
    a missing ``x`` is missing, not "no"; R's ``na.omit``) and it lies in
    ``subset`` (boolean per row, a domain). Factor levels are those of the
    rows in the fit.

    Raises
    ------
    FormulaError
        Unknown variable, unparsable formula, a term outside the whitelist (module
        docstring), no response, categorical response, no complete row, a term
        without a column (a factor with one level in the rows of the fit).
    """
    if "~" not in formula:
        raise FormulaError(f"formula {formula!r} has no response: write 'Y ~ A + B'")
    variables = formula_variables(formula)
    unknown = [v for v in variables if v not in data.columns]
    if unknown:
        raise FormulaError(
            f"formula {formula!r} names unknown variable {unknown[0]!r} "
            f"(not a column of the data; columns include "
            f"{', '.join(map(str, list(data.columns)[:8]))})"
        )
    data = data.reset_index(drop=True)
    candidates = ~data[variables].isna().any(axis=1).to_numpy()
    if subset is not None:
        subset = np.asarray(subset, dtype=bool)
        if subset.shape != candidates.shape:
            raise FormulaError(f"subset has {subset.size} values, the data {candidates.size} rows")
        candidates &= subset
    if not candidates.any():
        raise FormulaError(f"formula {formula!r}: no row has all its variables (in the subset)")
    try:
        # only the whitelisted names besides the data (and patsy's own); log(0)
        # and the like are refused by _refuse_infinite, naming the row, not warned about
        with np.errstate(divide="ignore", invalid="ignore"):
            y, X = patsy.dmatrices(
                formula,
                numpy_dtypes(data.loc[candidates, variables]),
                NA_action="drop",
                return_type="dataframe",
                eval_env=patsy.EvalEnvironment([_NAMESPACE]),
            )
    except patsy.PatsyError as exc:
        raise FormulaError(f"formula {formula!r}: {str(exc).splitlines()[0]}") from None
    _refuse_infinite(pd.concat([y, X], axis=1), formula)
    used = np.zeros(len(data), dtype=bool)
    used[y.index.to_numpy()] = True
    yv, response = _response(y, formula)
    info = X.design_info
    _refuse_empty_terms(info, formula, int(used.sum()))
    term_columns = {
        name: list(range(sl.start, sl.stop)) for name, sl in info.term_name_slices.items()
    }
    return ModelFrame(
        y=yv,
        X=X.to_numpy(dtype=float),
        used=used,
        response=response,
        terms=list(X.columns),
        term_columns=term_columns,
        design_info=info,
    )
