"""Estimation results: a tidy pandas frame and an xarray Dataset.

``Results.frame`` has one row per (item, domain) with the columns
``rate, variable, kind, domain_var, domain, n, weighted_base, estimate, se,
ci_low, ci_high, deff, deft, deff_kish, df, unweighted, published, flag``.
The estimators hand over their columns (:meth:`Results.of_columns`) and the
frame is made on first use, so that an estimate imports no pandas until a
frame is asked for (issue 14).
``Results.to_dataset()`` arranges the numbers as ``rate x domain x statistic``
(labels as coordinates, the settings in ``attrs``); ``summary()`` prints a
readable table; ``to_csv`` / ``to_netcdf`` write atomically.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from estimators.inference.ci import beta_ppf, t_ppf
from weighting.errors import KalibError

if TYPE_CHECKING:
    import pandas as pd

ESTIMATE_COLUMNS = [
    "variable",
    "domain_var",
    "domain",
    "n",
    "weighted_base",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "flag",
]
KEYRATE_COLUMNS = ["rate"] + ESTIMATE_COLUMNS + ["published", "unweighted"]
STATISTICS = [
    "n",
    "weighted_base",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "deff",
    "deft",
    "deff_kish",
    "df",
    "unweighted",
    "published",
]

# NCHS Data Presentation Standards for Proportions (Parker et al. 2017).
MIN_N = 30
MIN_DF = 8
MAX_ABS_WIDTH = 0.30
REL_WIDTH_RANGE = (0.05, 0.30)
MAX_REL_WIDTH = 1.30
MAX_RSE = 0.30
#: The rule :func:`reliability_flags` applies, recorded in the results' settings.
FLAG_RULE = "NCHS presentation standard: ``ok``, ``review``, ``suppress`` or ``empty``."


def reliability_flags(frame: pd.DataFrame) -> np.ndarray:
    """NCHS presentation standard: ``ok``, ``review``, ``suppress`` or ``empty``.

    Proportions (Parker et al. 2017, NCHS Data Presentation Standards for
    Proportions, Vital Health Stat 2(175)): suppress when the base ``n`` or
    the effective sample size ``p(1-p)/Var`` (at most n) is below 30, when
    the Korn–Graubard 95% interval is 30 points wide or more, or when it is
    between 5 and 30 points wide and wider than 130% of the estimate;
    otherwise ``review`` when the design df is below 8 or the estimate is 0
    or 1 (its interval is degenerate for every method but beta and Wilson). Means, totals and
    ratios (NCHS's rule for other statistics): suppress when ``n`` < 30 or
    the relative standard error exceeds 30%. ``empty``: no unit in the
    domain; a missing standard error (domain empty in a replicate) or design
    df below 1 (no t interval: every unit in its own stratum) suppresses.
    """
    return flags_of(
        frame["n"].to_numpy(float),
        frame["estimate"].to_numpy(float),
        frame["se"].to_numpy(float),
        frame["df"].to_numpy(float),
        (frame["kind"] == "proportion").to_numpy(),
    )


def flags_of(n, p, se, df, proportion) -> np.ndarray:
    """:func:`reliability_flags` of columns given as arrays (``proportion``:
    bool, the rows that are proportions), so that the estimators flag their
    results before the frame is made."""
    n, p, se, df = (np.asarray(x, dtype=np.float64) for x in (n, p, se, df))
    proportion = np.asarray(proportion, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        suppress = (n < MIN_N) | ~np.isfinite(se) | ~(df >= 1)
        suppress |= ~proportion & ~(np.abs(se / p) <= MAX_RSE)
        if proportion.any():  # the Korn-Graubard interval, for proportions only
            i = np.flatnonzero(proportion)
            n_i, p_i, se_i = n[i], p[i], se[i]
            n_eff = np.minimum(np.where(se_i > 0, p_i * (1 - p_i) / se_i**2, n_i), n_i)
            factor = (t_ppf(0.025, n_i - 1) / t_ppf(0.025, df[i])) ** 2
            kg_n = n_eff * factor
            x = kg_n * p_i
            low = np.where(x > 0, beta_ppf(0.025, x, kg_n - x + 1), 0.0)
            high = np.where(kg_n - x > 0, beta_ppf(0.975, x + 1, kg_n - x), 1.0)
            width = high - low
            rel = np.where(p_i > 0, width / p_i, np.inf)
            suppress[i] |= (
                (n_eff < MIN_N)
                | (width >= MAX_ABS_WIDTH)
                | (
                    (width > REL_WIDTH_RANGE[0])
                    & (width < REL_WIDTH_RANGE[1])
                    & (rel > MAX_REL_WIDTH)
                )
            )
    review = (df < MIN_DF) | (proportion & ((p == 0) | (p == 1)))
    flags = np.where(suppress, "suppress", np.where(review, "review", "ok"))
    return np.where(n == 0, "empty", flags).astype(object)


class Results:
    """Estimates with their settings; see the module docstring."""

    def __init__(self, frame: pd.DataFrame, attrs: dict):
        self._frame: pd.DataFrame | None = frame.reset_index(drop=True)
        self._columns: dict | None = None
        self.attrs = dict(attrs)

    @classmethod
    def of_columns(cls, columns: dict, attrs: dict) -> Results:
        """Results of ``columns`` (name -> the values of every row: arrays
        or lists, as ``pandas.DataFrame`` takes them), the frame made on
        first use."""
        results = cls.__new__(cls)
        results._frame, results._columns, results.attrs = None, columns, dict(attrs)
        return results

    @property
    def frame(self) -> pd.DataFrame:
        """The tidy frame (see the module docstring)."""
        if self._frame is None:
            import pandas as pd

            self._frame, self._columns = pd.DataFrame(self._columns), None
        return self._frame

    def tidy(self, columns=None) -> pd.DataFrame:
        """The tidy frame (optionally only ``columns``, in that order)."""
        return self.frame.copy() if columns is None else self.frame[list(columns)].copy()

    def keyrates(self) -> pd.DataFrame:
        """The keyrates.csv columns of CLI.md."""
        return self.tidy(KEYRATE_COLUMNS)

    def to_dataset(self):
        """xarray Dataset ``values[rate, domain, statistic]`` plus ``flag[rate,
        domain]``; coordinates ``variable`` (per rate), ``domain_var`` and
        ``domain_label`` (per domain); settings in ``attrs``."""
        import pandas as pd
        import xarray as xr

        f = self.frame.copy()
        f["rate_key"] = f["rate"].fillna(f["variable"]).astype(str)
        f["domain_key"] = np.where(
            f["domain_var"] == "all", "all", f["domain_var"] + "=" + f["domain"].astype(str)
        )
        rates = list(dict.fromkeys(f["rate_key"]))
        domains = list(dict.fromkeys(f["domain_key"]))
        indexed = f.set_index(["rate_key", "domain_key"])
        if not indexed.index.is_unique:
            raise KalibError("results have duplicate (rate, domain) rows")
        full = indexed.reindex(pd.MultiIndex.from_product([rates, domains]))
        values = full[STATISTICS].to_numpy(float).reshape(len(rates), len(domains), -1)
        flags = full["flag"].fillna("").to_numpy(object).reshape(len(rates), len(domains))
        first = f.drop_duplicates("rate_key").set_index("rate_key")
        dom = f.drop_duplicates("domain_key").set_index("domain_key")
        attrs = {
            k: (str(v) if isinstance(v, (bool, type(None))) else v) for k, v in self.attrs.items()
        }
        return xr.Dataset(
            {
                "values": (("rate", "domain", "statistic"), values),
                "flag": (("rate", "domain"), flags.astype(str)),
            },
            coords={
                "rate": rates,
                "domain": domains,
                "statistic": STATISTICS,
                "variable": ("rate", first.loc[rates, "variable"].astype(str).to_numpy()),
                "domain_var": ("domain", dom.loc[domains, "domain_var"].astype(str).to_numpy()),
                "domain_label": ("domain", dom.loc[domains, "domain"].astype(str).to_numpy()),
            },
            attrs=attrs,
        )

    def summary(self, digits=4) -> str:
        """A readable table (rounded for display only)."""
        cols = [
            "rate" if self.frame["rate"].notna().any() else "variable",
            "domain_var",
            "domain",
            "n",
            "estimate",
            "se",
            "ci_low",
            "ci_high",
            "deff",
            "flag",
        ]
        shown = self.frame[cols].copy()
        for c in ("estimate", "se", "ci_low", "ci_high", "deff"):
            shown[c] = shown[c].map(lambda v: f"{v:.{digits}f}")
        settings = ", ".join(f"{k}={v}" for k, v in self.attrs.items() if k != "flag_rule")
        return f"{settings}\n{shown.to_string(index=False)}"

    def __repr__(self):
        return self.summary()

    def _repr_html_(self) -> str:
        """The table of ``summary()`` in HTML, for Jupyter (digits by SE)."""
        from estimators.inference.html import results_html

        return results_html(self)

    def to_csv(self, path, columns=ESTIMATE_COLUMNS, force=False) -> None:
        """Write the tidy frame (default: the ``kalib estimate`` columns),
        numbers unrounded in shortest round-trip form, atomically, by
        :func:`estimators.io.files.write_table` (compressed, or parquet, when
        the name says so)."""
        # imported here: estimators.io.files (the readers) loads pandas
        from estimators.io.files import write_table

        write_table(self.tidy(columns), path, force, float_format=_shortest)

    def to_netcdf(self, path, force=False) -> None:
        """Write ``to_dataset()`` as netCDF, atomically."""
        from estimators.io.files import write_atomic

        dataset = self.to_dataset()
        write_atomic(path, lambda tmp: dataset.to_netcdf(tmp), force)


def _shortest(value) -> str:
    return repr(float(value))
