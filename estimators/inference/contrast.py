"""Contrasts of estimates with their full covariance (R ``svycontrast``).

An :class:`Estimates` holds the estimates of one call (means of several
variables, a statistic in several domains, a model's coefficients) with their
*full* covariance matrix ``V`` and, on a replicate design, the replicate
estimates ``theta_b`` that made it. :func:`svycontrast` turns them into

linear contrasts ``L theta``
    given as a vector over the estimates, a dict of coefficients by estimate
    name (absent names count 0), a matrix (rows are contrasts) or a pandas
    DataFrame (columns named by the estimates, index naming the contrasts);
    ``Var = L V L'``.
non-linear contrasts ``f(theta)``
    given as an expression over the estimate names, e.g. ``"api00 / api99"``
    or ``"log(E/(1-E)) - log(H/(1-H))"`` (``+ - * / **`` (or R's ``^``),
    ``log``, ``exp``, ``sqrt``, numbers; a name that is not an identifier is
    written between backticks as in R: ``"log(`E:sch_wide=Yes`)"``). The
    expression is parsed with :mod:`ast` and only those operations are
    accepted; its gradient ``J`` comes from forward-mode automatic
    differentiation on the parsed tree (the chain rule applied node by node,
    exact up to rounding like R's symbolic ``deriv()``: no step size, no
    truncation error), and ``Var = J V J'`` (delta method).

Several contrasts given together (a dict of them) get their joint covariance.

Replicates
    When the estimates carry replicate estimates, every contrast is evaluated
    in every replicate and its covariance is R's ``svrVar`` rule on those
    values (:func:`estimators.inference.variance.replicate_covariance`), as R
    does for a non-linear contrast of a statistic with ``return.replicates =
    TRUE``. For a linear contrast this equals ``L V L'`` (R's only route:
    ``svycontrast`` of a linear contrast errors on a statistic that carries
    replicates in survey 4.1.1, "non-conformable arguments"; it errors on
    any ``svrepglm`` as well). ``use_replicates=False`` gives the delta
    method from ``V`` instead (R's ``svycontrast`` of a statistic without
    replicates). The replicate values are kept, so contrasts of contrasts
    use them again.

Differences from R
    * Intervals and p-values are Student t on the estimates' degrees of
      freedom (the design's ``degf``; a model's residual df), as kalib's
      other results; R's ``confint`` of a ``svycontrast`` is normal.
    * Estimates by domain always carry the full covariance across domains
      and items. R's ``svyby`` keeps only the diagonal unless ``covmat =
      TRUE`` (warning "Only diagonal elements of vcov() available"): its
      contrasts between domains then assume independent domains, wrong for
      a clustered design, and for a factor response wrong even on a
      stratified one (the shares of one domain sum to one: their covariance
      is minus the variance, not zero).
    * ``svyby(..., covmat = TRUE)`` errors on a calibrated ``survey.design2``
      in survey 4.1.1 ("number of items to replace is not a multiple of
      replacement length"); kalib's by-domain estimates work on any design
      and equal R's cell-means ``svyglm(y ~ 0 + g)``.
    * survey 4.1.1 mislabels the replicates of a ``svyby`` with several
      columns (group-major columns named in coefficient order), so its
      replicate-based non-linear contrasts of those are wrong; kalib's
      replicate estimates keep the order of the estimates.
    * A model's contrasts use its replicate coefficients when it has them
      (:meth:`Estimates.from_model`); R's ``svycontrast`` of an ``svrepglm``
      uses the delta method from ``vcov`` (and errors for a linear contrast).
    * A non-finite contrast value (log of a negative estimate, a contrast of
      an empty domain) raises :class:`ContrastError`; R returns NaN.

References
----------
Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, ch. 2.3 and
3.4. Wiley (R package ``survey``: ``svycontrast``, ``svrVar``).
Griewank, A. and Walther, A. (2008). Evaluating Derivatives, 2nd ed., ch. 3
(forward mode). SIAM.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd

from estimators.inference.ci import wald_ci
from estimators.inference.domains import ALL
from estimators.inference.estimate import Item, domain_covariance, mean_items, total_items
from estimators.inference.variance import replicate_covariance
from weighting.errors import KalibError

CONTRAST_COLUMNS = ["name", "estimate", "se", "ci_low", "ci_high", "df", "t", "p"]
DIFFERENCE_COLUMNS = [
    "variable",
    "domain_var",
    "first",
    "second",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "df",
    "t",
    "p",
]
#: The functions an expression may call, with their derivatives.
FUNCTIONS = {
    "log": (np.log, lambda x: 1.0 / x),
    "exp": (np.exp, np.exp),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x)),
}


class ContrastError(KalibError):
    """A contrast cannot be formed or evaluated (names the contrast)."""


class UnknownEstimateError(ContrastError):
    """A contrast names an estimate that the estimates do not hold."""


class ContrastShapeError(ContrastError):
    """A contrast vector or matrix does not have one coefficient per estimate."""


class ExpressionError(ContrastError):
    """An expression is malformed or uses an operation outside the whitelist."""


@dataclass(frozen=True, eq=False)
class Estimates:
    """Estimates of one call with their full covariance (and replicates).

    Attributes
    ----------
    names : tuple of str
        One unique name per estimate.
    coef : ndarray (m,)
    vcov : ndarray (m, m)
        Design-based covariance (linearization or replicates).
    df : float
        Degrees of freedom of the t intervals and tests.
    replicates : ndarray (B, m) or None
        Replicate estimates, when the variance comes from replicates.
    scale, rscales, mse
        R's replicate-variance constants
        ``V = scale * sum_b rscales_b (theta_b - c)(theta_b - c)'``.
    """

    names: tuple
    coef: np.ndarray
    vcov: np.ndarray
    df: float
    replicates: np.ndarray | None = None
    scale: float | None = None
    rscales: np.ndarray | None = None
    mse: bool = False

    def __post_init__(self):
        names = tuple(str(n) for n in self.names)
        coef = np.atleast_1d(np.asarray(self.coef, dtype=np.float64))
        vcov = np.atleast_2d(np.asarray(self.vcov, dtype=np.float64))
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ContrastError(
                f"estimate name {dup!r} appears {names.count(dup)} times; names must be unique"
            )
        if coef.shape != (len(names),) or vcov.shape != (len(names), len(names)):
            raise ContrastShapeError(
                f"{len(names)} names, {coef.size} estimates and a "
                f"{vcov.shape} covariance do not match"
            )
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "coef", coef)
        object.__setattr__(self, "vcov", vcov)
        if self.replicates is not None:
            if self.scale is None or self.rscales is None:
                raise ContrastError("replicate estimates need their scale and rscales")
            reps = np.asarray(self.replicates, dtype=np.float64).reshape(-1, len(names))
            object.__setattr__(self, "replicates", reps)
            object.__setattr__(
                self,
                "rscales",
                np.broadcast_to(np.asarray(self.rscales, dtype=np.float64), (reps.shape[0],)),
            )

    @classmethod
    def from_model(cls, fit) -> Estimates:
        """The coefficients of a fitted design-based model (``svyglm``):
        names are the model's terms, df its residual df (R's
        ``df.residual``), replicates its replicate coefficients if any."""
        reps = getattr(fit, "replicate_params", None)
        design = fit.design
        return cls(
            tuple(fit.terms),
            fit.params,
            fit.cov,
            float(fit.df),
            reps,
            *((design.scale, design.rscales, bool(design.mse)) if reps is not None else ()),
        )

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    def __len__(self) -> int:
        return len(self.names)

    def cov_params(self) -> pd.DataFrame:
        """The covariance matrix labelled by the estimate names."""
        return pd.DataFrame(self.vcov, index=list(self.names), columns=list(self.names))

    def frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row per estimate: ``name, estimate, se, ci_low, ci_high, df,
        t, p`` with ``estimate +- t_df se`` and the two-sided p-value of
        ``estimate = 0`` on the same t distribution."""
        from scipy import stats  # here only: the catalogs import this module

        se = self.se
        low, high = wald_ci(self.coef, se, self.df, level)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = self.coef / se
        return pd.DataFrame(
            {
                "name": list(self.names),
                "estimate": self.coef,
                "se": se,
                "ci_low": low,
                "ci_high": high,
                "df": float(self.df),
                "t": t,
                "p": 2 * stats.t.sf(np.abs(t), self.df),
            },
            columns=CONTRAST_COLUMNS,
        )

    def summary(self, digits: int = 4) -> str:
        return self.frame().to_string(index=False, float_format=lambda v: f"{v:.{digits}g}")

    def __repr__(self) -> str:
        return self.summary()


# -- estimates of a design ----------------------------------------------------------


def estimates(
    design, variables, *, statistic: str = "mean", by: str = ALL, where=None
) -> Estimates:
    """Estimates with their full covariance, ready for :func:`svycontrast`.

    Parameters
    ----------
    design : weighting.design.Design
        With replicates, replicate variance (the replicate estimates are
        kept); otherwise linearization.
    variables : str, sequence of str, or sequence of Item
        Numeric variables (their ``statistic``), or items of any kind
        (:mod:`estimators.inference.estimate`: proportions, ratios, rates).
    statistic : {"mean", "total"}
        For variables given by name.
    by : str
        ``"all"`` or one domain specification (a column or a cross
        ``"A*B"``): every item in every domain, with the covariance across
        domains and items (R ``svyby(..., covmat = TRUE)``).
    where : Condition, optional
        Subpopulation (still on the full design).

    Returns
    -------
    Estimates
        Named like R: by the item (variable) for ``by="all"``, by the domain
        label for one item by domain, ``"domain:item"`` otherwise; items
        outer, domains inner (R's ``svyby`` order). ``df`` is the design's
        ``degf``.
    """
    if isinstance(variables, (str, Item)):
        variables = [variables]
    makers = {"mean": mean_items, "total": total_items}
    if statistic not in makers:
        raise ContrastError(f"statistic must be 'mean' or 'total', not {statistic!r}")
    if not isinstance(by, str):
        raise ContrastError(
            f"by is one domain specification ('all', a column or a cross 'A*B'), not {by!r}"
        )
    items = [v if isinstance(v, Item) else makers[statistic](design, [v])[0] for v in variables]
    restrict = None if where is None else where.mask(design.data)
    return item_estimates(design, items, by, restrict)


def item_estimates(design, items, by: str = ALL, restrict=None, present=None) -> Estimates:
    """:func:`estimates` of ``items`` with a boolean ``restrict`` array (rows
    of the subpopulation) instead of a condition. An item is named by its
    catalog id when it has one (``Item.rate``), else by its variable.
    ``present``: the rows R's design keeps, when R drops the others (its
    ``svyglm`` the rows it does not fit; ``linearization_covariance``);
    default every row, as R's ``svyby(covmat = TRUE)``."""
    return _by_domain(design, items, by, restrict, present)[0]


def _by_domain(design, items, by, restrict, present=None):
    """:func:`item_estimates` and the domain labels of ``by``."""
    theta, cov, labels, reps = domain_covariance(design, items, by, restrict, present)
    G, m = theta.shape
    # domain_covariance is domain-major (g * m + j); R's svyby is item-major
    order = np.array([g * m + j for j in range(m) for g in range(G)], dtype=np.int64)
    item_names = [it.rate or it.variable for it in items]
    if by == ALL:
        names = item_names
    elif m == 1:
        names = list(labels)
    else:
        names = [f"{label}:{name}" for name in item_names for label in labels]
    replicate = (
        {}
        if reps is None
        else {
            "replicates": reps.reshape(reps.shape[0], -1)[:, order],
            "scale": design.scale,
            "rscales": design.rscales,
            "mse": bool(design.mse),
        }
    )
    est = Estimates(
        tuple(names),
        theta.reshape(-1)[order],
        cov[np.ix_(order, order)],
        float(design.degf),
        **replicate,
    )
    return est, labels


# -- contrasts ----------------------------------------------------------------------


def svycontrast(estimates, contrasts, *, use_replicates: bool = True) -> Estimates:
    """Linear or non-linear contrasts of estimates (R ``svycontrast``).

    Parameters
    ----------
    estimates : Estimates or a fitted model
        From :func:`estimates`, another contrast, ``svyvar(...)``
        (:mod:`estimators.inference.moments`), a table's
        :func:`~estimators.inference.tables.cell_estimates`, or a model with
        ``params``, ``cov`` and ``terms`` (``svyglm``; see
        :meth:`Estimates.from_model`).
    contrasts
        One contrast, named ``"contrast"``: a sequence of ``m`` numbers, a
        dict ``{estimate name: coefficient}``, or an expression string.
        Several contrasts: a dict ``{contrast name: one of those}``, a 2-d
        array ``(k, m)`` (contrasts named ``contrast1`` ...) or a DataFrame
        (columns: estimate names; index: contrast names).
    use_replicates : bool
        With replicate estimates, evaluate the contrasts in every replicate
        (default); ``False``: the delta method ``J V J'``.

    Returns
    -------
    Estimates
        Named by the contrasts, with their joint covariance, the input's df
        and (replicate variance) the contrasts' replicate values.

    Raises
    ------
    UnknownEstimateError, ContrastShapeError, ExpressionError, ContrastError
    """
    estimates = _as_estimates(estimates)
    compiled = [_compile(name, spec, estimates.names) for name, spec in _named(contrasts).items()]
    if not compiled:
        raise ContrastError("no contrasts given")
    names = tuple(c.name for c in compiled)
    coef, jac = np.empty(len(compiled)), np.empty((len(compiled), len(estimates)))
    for k, c in enumerate(compiled):
        coef[k], jac[k] = c.evaluate(estimates.coef, gradient=True)
        _require_finite(c, estimates.names, estimates.coef, coef[k], jac[k])
    if estimates.replicates is not None and use_replicates:
        B = estimates.replicates.shape[0]
        # (a constant expression evaluates to one number)
        reps = np.column_stack(
            [
                np.broadcast_to(c.evaluate(estimates.replicates.T, gradient=False), (B,))
                for c in compiled
            ]
        )
        vcov = replicate_covariance(coef, reps, estimates.scale, estimates.rscales, estimates.mse)
        return Estimates(
            names,
            coef,
            vcov,
            estimates.df,
            reps,
            estimates.scale,
            estimates.rscales,
            estimates.mse,
        )
    keep = (jac != 0).any(axis=0)  # an estimate no contrast uses adds nothing
    vcov = jac[:, keep] @ estimates.vcov[np.ix_(keep, keep)] @ jac[:, keep].T
    return Estimates(names, coef, vcov, estimates.df)


def _as_estimates(obj) -> Estimates:
    """``obj`` itself, the ``estimates`` it holds (``svyvar``), or a model's."""
    if isinstance(obj, Estimates):
        return obj
    if isinstance(getattr(obj, "estimates", None), Estimates):
        return obj.estimates
    if all(hasattr(obj, a) for a in ("params", "cov", "terms", "df", "design")):
        return Estimates.from_model(obj)
    raise ContrastError(
        f"svycontrast needs Estimates (estimates(), svyvar(), "
        f"cell_estimates()) or a fitted model, not {type(obj).__name__}"
    )


def _named(contrasts) -> dict:
    """``{name: contrast}`` with R's default name ``contrast`` for a single one."""
    if isinstance(contrasts, pd.DataFrame):
        return {str(i): row.to_dict() for i, row in contrasts.iterrows()}
    if isinstance(contrasts, Mapping):
        numbers = [isinstance(v, Real) for v in contrasts.values()]
        if contrasts and all(numbers):
            return {"contrast": dict(contrasts)}  # coefficients by estimate name
        if any(numbers):
            raise ContrastError(
                "a dict of contrasts mixes coefficients with contrasts; "
                "give {estimate: coefficient} or {name: contrast}"
            )
        return {str(k): v for k, v in contrasts.items()}
    if isinstance(contrasts, str):
        return {"contrast": contrasts}
    array = np.asarray(contrasts)
    if array.ndim == 2:
        return {f"contrast{k + 1}": row for k, row in enumerate(array)}
    return {"contrast": contrasts}


@dataclass(frozen=True)
class _Linear:
    name: str
    weights: np.ndarray  # (m,)

    def evaluate(self, values, gradient):
        nz = np.flatnonzero(self.weights)  # an unused estimate may be NaN (empty domain)
        value = self.weights[nz] @ np.asarray(values)[nz]
        return (value, self.weights) if gradient else value


@dataclass(frozen=True)
class _Expression:
    name: str
    tree: ast.AST
    index: dict  # identifier in the tree -> estimate position

    def evaluate(self, values, gradient):
        """Value (and gradient) at ``values[k]`` for estimate k (numbers, or
        arrays over replicates)."""
        m = len(values) if gradient else 0
        with np.errstate(all="ignore"):
            value, grad = _forward(self.tree, values, self.index, m)
        if not gradient:
            return value
        return value, (np.zeros(m) if grad is None else grad)


def _compile(name, spec, names):
    if isinstance(spec, str):
        return _parse(name, spec, names)
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise UnknownEstimateError(
                f"contrast {name!r} names {unknown[0]!r}, which is not an estimate "
                f"(estimates: {_listing(names)})"
            )
        weights = np.array([float(spec.get(n, 0.0)) for n in names])
    else:
        try:
            weights = np.asarray(spec, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ContrastError(
                f"contrast {name!r} is neither numbers, a dict of "
                f"coefficients nor an expression: {spec!r}; give several "
                f"contrasts as a dict {{name: contrast}}"
            ) from None
        if weights.size != len(names):
            raise ContrastShapeError(
                f"contrast {name!r} has {weights.size} coefficients "
                f"for {len(names)} estimates ({_listing(names)})"
            )
    if not np.all(np.isfinite(weights)):
        raise ContrastError(f"contrast {name!r} has a coefficient that is not finite")
    return _Linear(name, weights)


_BACKTICK = re.compile(r"`([^`]*)`")


def _parse(name, text, names):
    """Parse and check an expression; backticked names become identifiers
    ``_q0___...`` longer than every estimate name, so none can clash."""
    position = {n: k for k, n in enumerate(names)}
    quoted, index = {}, {}

    def replace(match):
        label = match.group(1)
        if label not in position:
            raise UnknownEstimateError(
                f"contrast {name!r} names {label!r}, which is not "
                f"an estimate (estimates: {_listing(names)})"
            )
        key = quoted.setdefault(
            label, f"_q{len(quoted)}_" + "_" * max((len(n) for n in names), default=0)
        )
        index[key] = position[label]
        return key

    # R's ^ is Python's ** (same precedence, right-associative); Python's own ^
    # (exclusive or, below + and *) has no meaning here
    source = _BACKTICK.sub(replace, text).replace("^", "**")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(
            f"contrast {name!r}: {text!r} is not an expression ({exc.msg})"
        ) from None
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    for node in ast.walk(tree):
        if id(node) not in called:
            _check_node(node, name, text, names, position, index)
    return _Expression(name, tree, index)


_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def _check_node(node, name, text, names, position, index):
    """Accept only numbers, estimate names, ``+ - * / **``, unary minus/plus
    and calls of FUNCTIONS with one argument."""
    if isinstance(node, ast.Call):
        func = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        if func not in FUNCTIONS or len(node.args) != 1 or node.keywords:
            raise ExpressionError(
                f"contrast {name!r}: call {ast.unparse(node)!r} is not "
                f"allowed (functions: {', '.join(FUNCTIONS)} of one "
                f"argument)"
            )
    elif isinstance(node, ast.Name):
        if node.id in index:
            return
        if node.id not in position:
            raise UnknownEstimateError(
                f"contrast {name!r} names {node.id!r}, which is "
                f"not an estimate (estimates: {_listing(names)})"
            )
        index[node.id] = position[node.id]
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
            raise ExpressionError(f"contrast {name!r}: {node.value!r} is not a number")
    elif isinstance(node, ast.BinOp):
        if not isinstance(node.op, _OPERATORS):
            raise ExpressionError(
                f"contrast {name!r}: operator {type(node.op).__name__} "
                f"in {text!r} is not allowed (+ - * / ** ^)"
            )
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(
                f"contrast {name!r}: {ast.unparse(node)!r} is not allowed (unary + and - only)"
            )
    elif not isinstance(node, (ast.Load, *_OPERATORS, ast.USub, ast.UAdd)):
        raise ExpressionError(
            f"contrast {name!r}: {type(node).__name__} "
            f"{ast.unparse(node)!r} is not allowed in {text!r}"
        )


def _forward(node, values, index, m):
    """Forward-mode differentiation: ``(value, gradient)`` of the (checked)
    tree; the gradient is an (m,) array, None where it is zero (constants),
    and not formed at all when ``m == 0``."""
    if isinstance(node, ast.Constant):
        return float(node.value), None
    if isinstance(node, ast.Name):
        k = index[node.id]
        grad = None
        if m:
            grad = np.zeros(m)
            grad[k] = 1.0
        return values[k], grad
    if isinstance(node, ast.UnaryOp):
        value, grad = _forward(node.operand, values, index, m)
        if isinstance(node.op, ast.USub):
            return -value, None if grad is None else -grad
        return value, grad
    if isinstance(node, ast.Call):
        function, derivative = FUNCTIONS[node.func.id]
        value, grad = _forward(node.args[0], values, index, m)
        return function(value), None if grad is None else derivative(value) * grad
    a, ga = _forward(node.left, values, index, m)
    b, gb = _forward(node.right, values, index, m)
    op = node.op
    if isinstance(op, ast.Add):
        return a + b, _combine(ga, 1.0, gb, 1.0)
    if isinstance(op, ast.Sub):
        return a - b, _combine(ga, 1.0, gb, -1.0)
    if isinstance(op, ast.Mult):
        return a * b, _combine(ga, b, gb, a)
    if isinstance(op, ast.Div):
        return a / b, _combine(ga, 1.0 / b, gb, -a / (b * b))
    power = a**b
    # d(a^b) = b a^(b-1) da + a^b log(a) db; the log term only where b varies,
    # so that a negative base with a constant exponent stays differentiable
    return power, _combine(ga, b * a ** (b - 1), gb, None if gb is None else power * np.log(a))


def _combine(ga, ca, gb, cb):
    """``ca ga + cb gb`` with None for a zero gradient."""
    if ga is None and gb is None:
        return None
    if ga is None:
        return cb * gb
    if gb is None:
        return ca * ga
    return ca * ga + cb * gb


def _require_finite(contrast, names, coef, value, gradient):
    if math.isfinite(value) and np.all(np.isfinite(gradient)):
        return
    used = [names[k] for k in _uses(contrast)]
    bad = [n for n in used if not np.isfinite(coef[names.index(n)])]
    why = (
        f"estimate(s) {', '.join(map(repr, bad))} are not finite (an empty domain?)"
        if bad
        else "it or its derivative is outside the domain of its functions "
        "(log or sqrt of a number <= 0, division by zero)"
    )
    raise ContrastError(f"contrast {contrast.name!r} is not finite: {why}")


def _uses(contrast):
    if isinstance(contrast, _Linear):
        return np.flatnonzero(contrast.weights)
    return sorted(set(contrast.index.values()))


def _listing(names, limit=8) -> str:
    shown = ", ".join(map(repr, names[:limit]))
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# -- domain differences -------------------------------------------------------------


def domain_difference(
    design, items, spec, first, second, level=0.95, restrict=None
) -> pd.DataFrame:
    """``theta(first) - theta(second)`` of each item between two domains.

    The linear contrast of :func:`item_estimates` by ``spec``: its variance
    ``Var_a + Var_b - 2 Cov_ab`` keeps the covariance of the two domains,
    which are estimated on the same design (R ``svycontrast(svyby(...,
    covmat = TRUE), c(1, -1))``); the interval and p-value are t on the
    design's df.

    Parameters
    ----------
    design : weighting.design.Design
    items : list of estimators.inference.estimate.Item
    spec : str
        Domain variable or cross (``"sector"``, ``"size_class"``).
    first, second : str
        Domain labels.
    level : float
    restrict : bool array, optional
        A ``--where`` subpopulation (still on the full design).

    Returns
    -------
    pandas.DataFrame with ``DIFFERENCE_COLUMNS`` (``variable`` is the item's
    catalog id, or its variable).
    """
    est, labels = _by_domain(design, items, spec, restrict)
    G = len(labels)
    missing = [x for x in (first, second) if x not in labels]
    if missing:
        raise ContrastError(
            f"domain {missing[0]!r} is not a category of {spec!r} "
            f"(categories: {', '.join(labels)})"
        )
    a, b = labels.index(first), labels.index(second)
    L = np.zeros((len(items), len(est)))
    for j in range(len(items)):
        L[j, j * G + a], L[j, j * G + b] = 1.0, -1.0
    out = svycontrast(est, L).frame(level)
    out.insert(0, "variable", [it.rate or it.variable for it in items])
    out.insert(1, "domain_var", spec)
    out.insert(2, "first", first)
    out.insert(3, "second", second)
    return out[DIFFERENCE_COLUMNS]
