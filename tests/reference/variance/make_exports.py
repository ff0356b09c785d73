"""Write the replicate-weight files that export.R reads (run from the repository root:
.venv/bin/python tests/reference/variance/make_exports.py). tests/test_replicate_export.py
rebuilds the same designs and compares its standard errors with R's (export_r.csv)."""

import sys
from pathlib import Path

import pandas as pd

from estimators.io.replicate_file import write_replicate_weights
from weighting.design import Design

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from samples import API_MARGINS, business_margins  # noqa: E402


def designs():
    business = pd.read_csv(HERE / "business.csv")
    api = pd.read_csv(HERE / "apiclus1.csv")
    strat = pd.read_csv(HERE / "apistrat.csv").groupby("stype").head(20).reset_index(drop=True)
    raked = Design(business, weights="w", strata="stratum").calibrate(
        business_margins(), tol=1e-13
    )
    raked_fpc = Design(business, weights="w", strata="stratum", fpc="N_h").calibrate(
        business_margins(), tol=1e-13
    )
    clus = Design(api, weights="pw", psu="dnum", fpc="fpc").calibrate(API_MARGINS, tol=1e-13)
    return {
        "export_boot": (business, raked.with_replicates("bootstrap", replicates=20, seed=99)),
        "export_boot_mse": (
            business,
            raked_fpc.with_replicates("bootstrap", replicates=20, seed=7, mse=True),
        ),
        "export_jkn_fpc": (
            strat,
            Design(strat, weights="pw", strata="stype", fpc="fpc")
            .calibrate(API_MARGINS, tol=1e-13)
            .with_replicates("jkn"),
        ),
        "export_jk1": (api, clus.with_replicates("jk1")),
    }


if __name__ == "__main__":
    for name, (data, design) in designs().items():
        ids = data["id"] if "id" in data else data["cds"]  # apistrat/apiclus1 key: cds
        write_replicate_weights(design, HERE / f"{name}.csv", ids=ids.to_numpy(), force=True)
        print("wrote", name + ".csv")
