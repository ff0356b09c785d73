"""kalib on the benchmark workload: the same tasks and JSON line as the peers.

With ``--engine`` the bootstrap task's estimates come straight from the
design's fused replicate totals instead of ``estimators.inference.estimate.svymean``
(see ``kalib_tasks.bootstrap_domain_means``).

Runs in the project's virtualenv. The stratum code of the workload files is
split back into sector and size class so that kalib rakes to a genuine
sector x size cross margin (8 cells), as the survey does.
"""

import sys
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parents[2])]  # benchmarks/, the repository
import kalib_tasks  # noqa: E402
from common import main  # noqa: E402

# Import what the tasks use up front, as the peers import their packages:
# the timed region then holds no import (estimators pulls in scipy).
import estimators.inference.estimate  # noqa: E402,F401
import weighting.calibrate  # noqa: E402
import weighting.design  # noqa: E402,F401


def _inputs(frame, margins):
    tables = {
        "sector_size": {(code // 4, code % 4): t for code, t in margins["stratum"].items()},
        "nace": margins["nace"],
    }
    return frame, kalib_tasks.margins(tables)


def rake(frame, margins, args):
    columns, margin_list = _inputs(frame, margins)
    return kalib_tasks.rake(columns, margin_list, tol=args.tol).weights


def bootstrap(frame, margins, args):
    columns, margin_list = _inputs(frame, margins)
    result = kalib_tasks.bootstrap_domain_means(
        columns, margin_list, args.replicates, args.seed, args.tol, engine=ENGINE
    )
    if ENGINE:
        means, se = result["all"]
        return {"mean_y1": means[0, 0], "se_y1": se[0, 0]}
    return _y1(result)


def linearization(frame, margins, args):
    columns, margin_list = _inputs(frame, margins)
    design = kalib_tasks.raked_design(columns, margin_list, tol=args.tol)
    return _y1(kalib_tasks.linearized_domain_means(design))


def _y1(results) -> dict:
    frame = results.frame
    y1 = frame[(frame["variable"] == "y1") & (frame["domain_var"] == "all")].iloc[0]
    return {"mean_y1": y1["estimate"], "se_y1": y1["se"]}


ENGINE = "--engine" in sys.argv

if __name__ == "__main__":
    raise SystemExit(
        main(
            {
                "rake": rake,
                "bootstrap": bootstrap,
                "linearization": "the engine has no linearization task"
                if ENGINE
                else linearization,
            },
            [a for a in sys.argv[1:] if a != "--engine"],
        )
    )
