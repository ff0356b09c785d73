"""``kalib report``: a reweighted survey's key rates as a web page, CSV and xarray.

``build_report(ReportSettings(...), survey)`` runs the pipeline
(``pipeline.py``) on a :class:`~estimators.surveys.base.SurveyConfig` (by
default the bundled employer survey's); ``html.render`` and ``figures`` draw
the page from plain frames.
"""
from estimators.report.pipeline import ReportRun, ReportSettings, build_report

__all__ = ["ReportRun", "ReportSettings", "build_report"]
