"""Errors of the design-based GLMs.

Each names what is wrong (term, variable, replicate, count) in one line; all
are :class:`weighting.errors.KalibError`, so ``kalib model`` turns them into
exit code 2.
"""

from weighting.errors import KalibError


class ModelError(KalibError):
    """A design-based GLM cannot be fitted as asked."""


class FormulaError(ModelError):
    """The formula names an unknown variable, is malformed, or its response
    does not suit the family (e.g. a text response for ``binomial``)."""


class CollinearityError(ModelError):
    """A model column is constant, empty (a factor level with no respondents)
    or a linear combination of the others, so its coefficient is not
    identified."""


class SeparationError(ModelError):
    """Logistic regression with (quasi-)complete separation: the maximum
    likelihood coefficient is infinite."""


class ConvergenceError(ModelError):
    """The full-sample fit did not converge."""


class SingularCovarianceError(ModelError):
    """The covariance of the coefficients under test is singular (e.g. fewer
    replicates than coefficients), so their Wald test is not defined."""
