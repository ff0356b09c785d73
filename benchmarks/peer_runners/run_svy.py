"""svy (Rust core) on the benchmark workload, through its public API only."""

import polars as pl
import svy
from common import OUTCOMES, main


def _sample(frame):
    data = pl.from_pandas(frame)
    return svy.Sample(data, svy.Design(stratum="stratum", psu="id", wgt="weight"))


def rake(frame, margins, args):
    raked = _sample(frame).weighting.rake(
        controls=margins, tol=args.tol, max_iter=1000, wgt_name="rk_wgt"
    )
    return raked.data["rk_wgt"].to_numpy()


def bootstrap(frame, margins, args):
    sample = _sample(frame).weighting.create_bs_wgts(n_reps=args.replicates, rstate=args.seed)
    sample = sample.weighting.rake(
        controls=margins, tol=args.tol, max_iter=1000, wgt_name="rk_wgt"
    )
    overall = sample.estimation.mean(OUTCOMES, method="replication")
    for by in ("sector", "size_class"):
        sample.estimation.mean(OUTCOMES, by=by, method="replication")
    first = overall[0].to_polars()
    return {"mean_y1": first["est"][0], "se_y1": first["se"][0]}


if __name__ == "__main__":
    raise SystemExit(main({"rake": rake, "bootstrap": bootstrap}))
