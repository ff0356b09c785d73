"""kalib estimators: design-based estimation on a (calibrated) ``weighting.Design``.

The analyst's entry points, importable from here::

    from estimators import svymean, svyprop, svyglm, estimate_catalog, load_cati

=====================  ==================================================================
estimates              ``svymean``, ``svytotal``, ``svyratio``, ``svyprop``,
                       ``svyquantile`` (R ``survey``'s names; by domain, with
                       replicate or linearization variance), ``estimate_items``,
                       ``svyvar``, ``svytable``, ``cell_table``
contrasts              ``estimates`` and ``cell_estimates`` (with their full
                       covariance), ``svycontrast``, ``Estimates``
domains and subsets    ``Equals``, ``OneOf``, ``NotMissing``, ``Chosen``, ``Everyone``,
                       ``parse_where``
intervals, tests       ``proportion_ci``, ``wald_ci``, ``domain_difference``, ``rao_scott``,
                       ``svychisq``, ``svyttest``
key-rate catalogs      ``estimate_catalog``, ``catalog_differences``, ``KeyRate``,
                       ``Published``
models                 ``svyglm``
results                ``Results``
bundled data           ``load_cati``, ``load_register_margins`` (the 2017 employer survey),
                       ``load_ai_staff`` (the 2017 staff survey)
=====================  ==================================================================

Every name is imported on first use (PEP 562), so ``import estimators`` itself
loads neither pandas, scipy, statsmodels nor matplotlib.

Sub-packages, in the direction of their imports: ``cli`` and ``report`` (on top,
imported by nothing else) → ``surveys`` (per-survey configuration and data) →
``inference``, ``model``, ``scale``, ``io`` and ``diagnose`` → ``weighting``
(numpy only, vendorable) → ``cext`` (kernels).
"""

from __future__ import annotations

from estimators._lazy import lazy_exports

_EXPORTS = {
    "svymean": "estimators.inference.estimate",
    "svytotal": "estimators.inference.estimate",
    "svyratio": "estimators.inference.estimate",
    "svyprop": "estimators.inference.estimate",
    "svyquantile": "estimators.inference.estimate",
    "estimate_items": "estimators.inference.estimate",
    "Equals": "estimators.inference.domains",
    "OneOf": "estimators.inference.domains",
    "NotMissing": "estimators.inference.domains",
    "Chosen": "estimators.inference.domains",
    "Everyone": "estimators.inference.domains",
    "parse_where": "estimators.inference.domains",
    "proportion_ci": "estimators.inference.ci",
    "wald_ci": "estimators.inference.ci",
    "domain_difference": "estimators.inference.contrast",
    "estimates": "estimators.inference.contrast",
    "svycontrast": "estimators.inference.contrast",
    "Estimates": "estimators.inference.contrast",
    "svyttest": "estimators.inference.ttest",
    "svyvar": "estimators.inference.moments",
    "svytable": "estimators.inference.tables",
    "cell_table": "estimators.inference.tables",
    "cell_estimates": "estimators.inference.tables",
    "rao_scott": "estimators.inference.chisq",
    "svychisq": "estimators.inference.chisq",
    "estimate_catalog": "estimators.inference.catalog",
    "catalog_differences": "estimators.inference.catalog",
    "KeyRate": "estimators.inference.catalog",
    "Published": "estimators.inference.catalog",
    "Results": "estimators.inference.results",
    "svyglm": "estimators.model",
    "load_cati": "estimators.surveys.employers",
    "load_register_margins": "estimators.surveys.employers",
    "load_ai_staff": "estimators.surveys.ai_staff",
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
