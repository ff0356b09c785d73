"""balance (Meta) on the benchmark workload, through its public API only.

balance rakes a sample towards a target *frame*. The target here is the 8 x 12
table of stratum x NACE cells with weights T_s * T_n / N, whose margins are
exactly the population margins (raking depends on the target only through its
margins). balance has no replicate weights, so it cannot do the bootstrap task.
"""

import logging

import numpy as np
import pandas as pd
from balance.weighting_methods.rake import rake as balance_rake
from common import main

logging.getLogger("balance").setLevel(logging.WARNING)  # one INFO line per call otherwise


def _target(margins):
    strata, nace = margins["stratum"], margins["nace"]
    total = sum(strata.values())
    cells = [(s, k, ts * tn / total) for s, ts in strata.items() for k, tn in nace.items()]
    frame = pd.DataFrame(cells, columns=["stratum", "nace", "w"])
    return frame[["stratum", "nace"]].astype(str), frame["w"]


def rake(frame, margins, args):
    target_df, target_w = _target(margins)
    sample_df = frame[["stratum", "nace"]].astype(str)
    out = balance_rake(
        sample_df,
        frame["weight"],
        target_df,
        target_w,
        variables=["stratum", "nace"],
        transformations=None,
        max_iteration=1000,
        convergence_rate=args.tol,
        rate_tolerance=0.0,
    )
    return np.asarray(out["weight"], dtype=float)


if __name__ == "__main__":
    raise SystemExit(
        main({"rake": rake, "bootstrap": "no replicate weights (raking and IPW only)"})
    )
