"""The samples and margins of the variance reference tests (written by linearization.R).

Imported by the tests (``tests/test_variance_*.py``, ``tests/test_replicate_*.py``)
and by make_exports.py, so that all use the same margins.
"""

from pathlib import Path

import pandas as pd

from weighting.margins import Margin

HERE = Path(__file__).parent

# R's ?rake example margins for the api data: school type and sch.wide.
API_MARGINS = [
    Margin("stype", {"E": 4421, "H": 755, "M": 1018}),
    Margin("sch.wide", {"No": 1072, "Yes": 5122}),
]


def business_margins():
    """Sector x size (the strata) and NACE margins of business.csv."""
    ss = pd.read_csv(HERE / "business_margin_sector_size.csv")
    nace = pd.read_csv(HERE / "business_margin_nace.csv")
    return [
        Margin(("sector", "size_class"), {(a, b): t for a, b, t in ss.itertuples(index=False)}),
        Margin("nace", dict(zip(nace.nace, nace.total))),
    ]
