"""HTML tables for Jupyter (``_repr_html_``), built by hand from the standard
library so that ``weighting`` stays vendorable.

Every label is escaped. Numbers are formatted to the precision their
standard error supports (:func:`decimals`); the plain-text view stays
``summary()``. ``estimators`` builds its result tables with the same
functions, so every kalib table in a notebook looks alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

#: Numbers right-aligned and unbroken (an interval stays on one line); the
#: notebook's own table CSS does the rest.
_NUMERIC = ' style="text-align:right;white-space:nowrap"'
_CAPTION = ' style="caption-side:top;text-align:left"'
#: Rows that need the reader's attention (not converged, suppressed).
WARN = "color:#b00020"
MUTED = "color:#888888"


def decimals(se: object, default: int = 4) -> int:
    """Decimal places that show two significant digits of ``se``.

    Estimates and interval limits are printed to the same place, so that the
    last digit shown is the first uncertain one (the usual rule for
    reporting an estimate with its standard error). ``default`` when ``se``
    is zero, missing or not finite. At most 10 places.
    """
    if not (isinstance(se, (int, float)) and math.isfinite(se) and se > 0):
        return default
    return min(10, max(0, 1 - math.floor(math.log10(se))))


def number(value: float | None, places: int) -> str:
    """``value`` with ``places`` decimals; an empty cell for a missing value."""
    if value is None:
        return ""
    value = float(value)
    if math.isnan(value):
        return ""
    return f"{value:,.{places}f}" if abs(value) >= 1e4 else f"{value:.{places}f}"


def significant(value: float | None, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits (statistics without an SE)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{float(value):.{digits}g}"


def p_value(p: float | None) -> str:
    """A p-value: three decimals, ``<0.001`` below that."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def table(
    header: Sequence[object] | None,
    rows: Iterable[Sequence[object]],
    *,
    numeric: Iterable[int] = (),
    caption: object = None,
    row_styles: Sequence[str | None] | None = None,
) -> str:
    """An HTML table. ``header``: column labels (None: no header row);
    ``rows``: lists of cell texts (escaped here); ``numeric``: indices of
    right-aligned columns; ``row_styles``: an optional inline style per row."""
    numeric = set(numeric)
    out = ['<table class="kalib" style="width:auto;margin-bottom:1em">']
    if caption:
        out.append(f"<caption{_CAPTION}>{escape(str(caption))}</caption>")
    if header is not None:
        out.append(
            "<thead><tr>"
            + "".join(
                f"<th{_NUMERIC if j in numeric else ''}>{escape(str(h))}</th>"
                for j, h in enumerate(header)
            )
            + "</tr></thead>"
        )
    out.append("<tbody>")
    for i, row in enumerate(rows):
        style = row_styles[i] if row_styles and row_styles[i] else ""
        out.append(
            (f'<tr style="{style}">' if style else "<tr>")
            + "".join(
                f"<td{_NUMERIC if j in numeric else ''}>{escape(str(cell))}</td>"
                for j, cell in enumerate(row)
            )
            + "</tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def calibration_html(result: Any) -> str:
    """The ``_repr_html_`` of :class:`weighting.calibrate.CalibrationResult`:
    the lines of ``summary()`` as a two-column table. (``result`` is not
    annotated with its class: ``weighting.calibrate`` imports this module.)"""
    p = result.problem
    diag = result.diagnostics()
    status = (
        f"yes, in {result.iterations} iterations"
        if result.converged
        else f"NO, stopped after {result.iterations} iterations"
    )
    rows = [
        ("distance", result.distance),
        ("converged", status),
        ("max relative margin error", f"{result.error:.3g} (tol {result.tol:g})"),
        ("rows", f"{p.n}" + ("" if p.rows_are_units else f" in {p.n_cells} cells")),
        ("constraints", f"{result.lam.size} from {len(p.labels)} margin categories"),
        ("g", f"{result.g.min():.6g} to {result.g.max():.6g}"),
    ]
    if result.bounds:
        rows.append(("bounds on g", f"[{result.bounds[0]:g}, {result.bounds[1]:g}]"))
    if result.trim:
        rows.append(
            (
                "trimming caps on g",
                f"[{result.trim[0]:g}, {result.trim[1]:g}], "
                f"{int(result.trimmed.sum())} units capped",
            )
        )
    rows += [
        ("weights: total", f"{diag.total:.10g}"),
        ("weights: min, max", f"{diag.min:.6g}, {diag.max:.6g}"),
        ("weights: CV", f"{diag.cv:.4f}"),
        ("Kish effective n", f"{diag.n_eff:.1f}"),
        ("weighting design effect", f"{diag.deff:.4f}"),
    ]
    styles = None if result.converged else [None, WARN] + [None] * (len(rows) - 2)
    return table(None, rows, caption="Calibration", row_styles=styles)
