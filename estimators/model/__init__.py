"""Design-based generalised linear models (R's ``svyglm``).

>>> fit = svyglm("I(trainee_now == 'yes') ~ sector + size_class", design,
...              family="binomial")
>>> fit.tidy()                   # term, estimate, se, t, df, p, CIs, odds ratios
>>> fit.wald_test("size_class")  # design-based F test of a term
>>> fit.predicted_margins("sector")

What corresponds to what in R's ``survey`` package (all checked against it in
``tests/estimators/model/test_glm_reference.py``):

==========================================  =====================================
kalib                                       R survey
==========================================  =====================================
``svyglm(f, design, family)``               ``svyglm(f, design, family = quasi...)``
``fit.tidy()`` / ``fit.conf_int()``         ``summary(fit)$coefficients``, ``confint(fit)``
``fit.df``                                  ``fit$df.residual`` (``degf + 1 - p``)
``fit.wald_test(terms)``                    ``regTermTest(fit, ~terms)``
``fit.wald_test(terms, method="LRT")``      ``regTermTest(fit, ~terms, method =
                                            "LRT")`` (also ``"WorkingWald"``;
                                            :mod:`.lrt`)
``fit.predicted_margins(var)``              ``svypredmeans(...)`` estimates; the
                                            variance keeps the covariance of
                                            its two parts
``svyglm(..., subset=mask)``                ``svyglm(..., subset = ...)``
``svyolr(f, design, link)``                 ``svyolr(f, design, method = ...)``;
                                            the thresholds follow the
                                            coefficients, named ``1|2``, ...
``fit.predict_proba(newdata)``              ``MASS:::predict.polr(type = "probs")``
==========================================  =====================================

Modules: :mod:`.formula` (patsy model frames), :mod:`.families`,
:mod:`.fitting` (full-sample and batched replicate fits, identifiability and
separation checks), :mod:`.glm` (:func:`svyglm`), :mod:`.variance` (the
coefficients' replicate or linearized covariance), :mod:`.results`,
:mod:`.errors`, :mod:`.lrt` (working-likelihood tests); :mod:`.ordinal` (:func:`svyolr`, proportional odds) and
:mod:`.ordinal_results`. The employer survey's regression section of the report is
``estimators.surveys.employers.analysis``.
"""

from .errors import (
    CollinearityError,
    ConvergenceError,
    FormulaError,
    ModelError,
    SeparationError,
    SingularCovarianceError,
)
from .glm import ReplicateWeights, svyglm
from .ordinal import svyolr
from .ordinal_results import OrdinalResults
from .results import SvyGLMResults, TermTest

__all__ = [
    "svyglm",
    "svyolr",
    "ReplicateWeights",
    "SvyGLMResults",
    "OrdinalResults",
    "TermTest",
    "ModelError",
    "FormulaError",
    "CollinearityError",
    "SeparationError",
    "ConvergenceError",
    "SingularCovarianceError",
]
