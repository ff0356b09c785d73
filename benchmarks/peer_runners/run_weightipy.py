"""weightipy on the benchmark workload, through its public API only.

weightipy's rim weighting starts from weights of 1 (it takes no base weights)
and targets percentages. On this workload that reaches the same solution as
raking the base weights, because the base weights are constant within the
strata, which are one of the two margins; the result is scaled to the
population total afterwards. No replicate weights: no bootstrap task.
"""

import weightipy as wp
from common import main


def rake(frame, margins, args):
    total = sum(margins["stratum"].values())
    scheme = wp.scheme_from_dict(
        {
            variable: {code: 100.0 * t / total for code, t in table.items()}
            for variable, table in margins.items()
        },
        name="bench",
        rim_params={"convcrit": args.tol, "max_iterations": 1000},
    )
    weights = wp.weight(frame[["stratum", "nace"]], scheme).to_numpy(dtype=float)
    return weights * (total / weights.sum())


if __name__ == "__main__":
    raise SystemExit(
        main({"rake": rake, "bootstrap": "no replicate weights (rim weighting only)"})
    )
