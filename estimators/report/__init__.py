"""``kalib report``: a reweighted survey's key rates as a web page, CSV and xarray.

``build_report(ReportSettings(...), survey)`` runs the pipeline
(``pipeline.py``) on a :class:`~estimators.surveys.base.SurveyConfig` (by
default the bundled employer survey's); ``html.render`` and ``figures`` draw
the page from plain frames.

The names are imported on first use (PEP 562, :mod:`estimators._lazy`):
``kalib report``'s parser reads ``estimators.report.labels`` without loading
the pipeline's pandas, matplotlib and tqdm.
"""

from __future__ import annotations

from estimators._lazy import lazy_exports

_EXPORTS = {
    name: "estimators.report.pipeline" for name in ("ReportRun", "ReportSettings", "build_report")
}

__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
