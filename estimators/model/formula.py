"""Model frames from patsy formulas, with errors that name the offender.

The design matrix is built as statsmodels builds it (patsy, treatment
contrasts, levels in sorted order so the reference level is the first), and
rows with a missing model variable are left out of the fit but stay in the
design: like R's ``svyglm``, the model is then fitted on a domain, and its
variance still uses every stratum and PSU of the full design.
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy

from .errors import FormulaError

# Names a patsy formula may use without their being data columns.
_FORMULA_FUNCTIONS = set(dir(builtins)) | {
    "C", "I", "Q", "np", "numpy", "Treatment", "Sum", "Diff", "Helmert", "Poly",
    "center", "standardize", "scale", "bs", "cr", "cc", "te", "log", "exp", "sqrt",
}


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
        (X,) = patsy.build_design_matrices([self.design_info], data,
                                           NA_action="raise")
        return np.asarray(X, dtype=float)


def formula_variables(formula: str, rhs_only: bool = False) -> list:
    """The data column names a formula refers to (in order of appearance);
    with ``rhs_only``, those of the predictors only."""
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise FormulaError(f"cannot parse formula {formula!r}: {str(exc).splitlines()[0]}") from None
    names = []
    for term in (desc.rhs_termlist if rhs_only else desc.lhs_termlist + desc.rhs_termlist):
        for factor in term.factors:
            code = factor.name()
            try:
                tree = ast.parse(code, mode="eval")
            except SyntaxError:
                raise FormulaError(f"cannot parse the term {code!r} of formula {formula!r}") from None
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                        and node.func.id == "Q" and node.args \
                        and isinstance(node.args[0], ast.Constant):
                    names.append(str(node.args[0].value))
                elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) \
                        and node.id not in _FORMULA_FUNCTIONS:
                    names.append(node.id)
    return list(dict.fromkeys(names))


def _response(y: pd.DataFrame, formula: str) -> tuple:
    """Reduce patsy's response to one numeric column.

    A logical response such as ``I(x == 'yes')`` comes back from patsy as the
    two indicator columns ``...[False]`` and ``...[True]``; the ``[True]`` one
    is the 0/1 response.
    """
    cols = list(y.columns)
    if len(cols) == 2 and cols[0].endswith("[False]") and cols[1].endswith("[True]"):
        return y[cols[1]].to_numpy(dtype=float), cols[1][: -len("[True]")]
    if len(cols) != 1:
        levels = ", ".join(cols[:4])
        raise FormulaError(
            f"the response of {formula!r} is categorical ({levels}...); write it as "
            f"0/1 or as I(VAR == 'code')")
    return y[cols[0]].to_numpy(dtype=float), cols[0]


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
        Unknown variable, unparsable formula, no response, categorical response,
        no complete row.
    """
    if "~" not in formula:
        raise FormulaError(f"formula {formula!r} has no response: write 'Y ~ A + B'")
    variables = formula_variables(formula)
    unknown = [v for v in variables if v not in data.columns]
    if unknown:
        raise FormulaError(
            f"formula {formula!r} names unknown variable {unknown[0]!r} "
            f"(not a column of the data; columns include "
            f"{', '.join(map(str, list(data.columns)[:8]))})")
    data = data.reset_index(drop=True)
    candidates = ~data[variables].isna().any(axis=1).to_numpy()
    if subset is not None:
        subset = np.asarray(subset, dtype=bool)
        if subset.shape != candidates.shape:
            raise FormulaError(f"subset has {subset.size} values, the data "
                               f"{candidates.size} rows")
        candidates &= subset
    if not candidates.any():
        raise FormulaError(f"formula {formula!r}: no row has all its variables "
                           f"(in the subset)")
    try:
        y, X = patsy.dmatrices(formula, data.loc[candidates], NA_action="drop",
                               return_type="dataframe")
    except patsy.PatsyError as exc:
        raise FormulaError(f"formula {formula!r}: {str(exc).splitlines()[0]}") from None
    used = np.zeros(len(data), dtype=bool)
    used[y.index.to_numpy()] = True
    yv, response = _response(y, formula)
    info = X.design_info
    term_columns = {name: list(range(sl.start, sl.stop))
                    for name, sl in info.term_name_slices.items()}
    return ModelFrame(y=yv, X=X.to_numpy(dtype=float), used=used, response=response,
                      terms=list(X.columns), term_columns=term_columns, design_info=info)
