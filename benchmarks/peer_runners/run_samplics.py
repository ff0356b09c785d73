"""samplics on the benchmark workload, through its public API only.

samplics raking has no replicate-aware mode: the bootstrap task re-rakes each
replicate column in a Python loop, as a samplics user would.
"""

import warnings

import numpy as np
from common import OUTCOMES, main

warnings.simplefilter("ignore", FutureWarning)  # "samplics is archived" on import
from samplics import PopParam, ReplicateEstimator, ReplicateWeight, RepMethod, SampleWeight  # noqa: E402


def _rake(weights, frame, margins, args):
    domains = {variable: frame[variable].to_numpy() for variable in margins}
    return SampleWeight().rake(
        weights, domains, control=margins, tol=args.tol, ctrl_tol=args.tol, max_iter=1000
    )


def rake(frame, margins, args):
    return _rake(frame["weight"].to_numpy(), frame, margins, args)


def bootstrap(frame, margins, args):
    maker = ReplicateWeight(
        RepMethod.bootstrap, strat=True, nb_reps=args.replicates, rand_seed=args.seed
    )
    reps = maker.replicate(
        frame["weight"].to_numpy(), psu=frame["id"].to_numpy(), stratum=frame["stratum"].to_numpy()
    )
    # Rows come back sorted by stratum and PSU: put them back in file order.
    reps = reps.set_index("_psu").loc[frame["id"].to_numpy()]
    rep_columns = [c for c in reps.columns if c.startswith("_boot_wgt_")]
    raked = _rake(frame["weight"].to_numpy(), frame, margins, args)
    rep_w = np.column_stack([_rake(reps[c].to_numpy(), frame, margins, args) for c in rep_columns])
    result = {}
    for name in OUTCOMES:
        y = frame[name].to_numpy(dtype=float)
        for domain in (None, frame["sector"].to_numpy(), frame["size_class"].to_numpy()):
            est = ReplicateEstimator(
                RepMethod.bootstrap, PopParam.mean, rep_weight_cls=maker
            ).estimate(y, raked, rep_w, domain=domain)
            if name == "y1" and domain is None:
                result = {"mean_y1": est.point_est, "se_y1": est.stderror}
    return result


if __name__ == "__main__":
    raise SystemExit(main({"rake": rake, "bootstrap": bootstrap}))
