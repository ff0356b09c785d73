"""kalib.weighting — survey calibration and replicate weights.

Vendorable: imports only numpy, the standard library and itself, and uses the
compiled ``cext`` kernels only when their API version matches (see
``weighting._backend``); otherwise it runs the same algorithms in numpy.
It reads and writes no files.
"""

from weighting.calibrate import CalibrationResult, calibrate  # noqa: F401
from weighting.diagnostics import WeightDiagnostics, weight_diagnostics  # noqa: F401
from weighting.errors import (  # noqa: F401
    CalibrationError,
    DesignError,
    EmptyCellError,
    InfeasibleBoundsError,
    KalibError,
    MarginError,
    MissingValueError,
    ReplicateError,
    WeightError,
)
from weighting.margins import Margin, NumericTotal  # noqa: F401
from weighting.problem import CalibrationProblem  # noqa: F401
from weighting.solver import SolveResult, solve  # noqa: F401
from weighting.spec import CalibrationSpec  # noqa: F401
