"""kalib estimators: file I/O, point estimation, variance, confidence
intervals, tests, models, the key-rate catalog, results, datasets, the Dask
scale-out, the ``kalib`` command line and the report.

This layer may use pandas, scipy, statsmodels, xarray and dask; the
vendorable ``weighting`` package underneath may not.
"""
