"""Design-based generalised linear models (R's ``svyglm``).

>>> fit = svyglm("I(trainee_now == 'yes') ~ sector + size_class", design,
...              family="binomial")
>>> fit.tidy()                 # term, estimate, se, t, df, p, CIs, odds ratios
>>> fit.wald_test("size_class")  # R regTermTest
>>> fit.predicted_margins("sector")
"""
from .errors import (CollinearityError, ConvergenceError, FormulaError, ModelError,
                     SeparationError)
from .bundled import BundledAnalysis, bundled_analysis
from .glm import ReplicateWeights, svyglm
from .results import SvyGLMResults, TermTest

__all__ = ["svyglm", "bundled_analysis", "BundledAnalysis", "ReplicateWeights", "SvyGLMResults", "TermTest", "ModelError",
           "FormulaError", "CollinearityError", "SeparationError", "ConvergenceError"]
