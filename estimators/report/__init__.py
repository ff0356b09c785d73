"""``kalib report``: the reweighted employer survey as a web page, CSV and xarray.

``build_report(ReportSettings(...))`` runs the pipeline (``pipeline.py``);
``html.render`` and ``figures`` draw the page from plain frames.
"""
from estimators.report.pipeline import ReportRun, ReportSettings, build_report

__all__ = ["ReportRun", "ReportSettings", "build_report"]
