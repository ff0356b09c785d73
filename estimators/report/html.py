"""The self-contained report page: inline CSS, figures as base64 data URIs.

:func:`render` turns a :class:`Page` (plain frames, numbers and PNG bytes) into
one HTML string; it knows nothing of designs or calibration, so the page can
be built and tested from a small results frame.
"""
from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from string import Template

import pandas as pd

from estimators.inference.catalog import report_round
from estimators.report.labels import domain_label, text


@dataclass(frozen=True)
class Figure:
    """One PNG figure of the page; ``name`` is its file name under figures/."""
    name: str
    caption: str
    png: bytes
    section: str


@dataclass
class Page:
    """Everything the page shows, already computed."""
    lang: str
    level: float
    keyrates: pd.DataFrame            # keyrates.csv columns + sens_low, sens_high, note
    rate_labels: dict[str, str]
    margin_shares: pd.DataFrame       # margin, category, sample_n, sample_share,
    #                                   register_total, register_share, calibrated_share
    strata: pd.DataFrame | None       # stratum, sample_n, sample_share, register_total, register_share
    weight_stats: list[tuple[str, str]]
    figures: list[Figure]
    flag_rules: dict[str, str]        # flag code -> the rule it stands for
    settings: list[tuple[str, str]]
    margin_sources: list[tuple[str, str]]
    versions: dict[str, str]
    version: str
    generated: str
    model_html: str | None = None
    files: list[str] = field(default_factory=list)
    variant_shares: dict[str, float] | None = None  # margin variant -> the share it moves
    survey_text: dict = field(default_factory=dict)  # the survey's strings {lang: {key: text}}


def render(page: Page) -> str:
    """The whole page as an HTML string."""
    t = text(page.lang, page.survey_text)
    sections = [
        ("sample", t["sec_sample"], _sample_section(page, t)),
        ("weights", t["sec_weights"], _weights_section(page, t)),
        ("keyrates", t["sec_keyrates"], _keyrates_section(page, t)),
        ("forest", t["sec_forest"], _forest_section(page, t)),
        ("flags", t["sec_flags"], _flags_section(page, t)),
    ]
    if page.model_html:
        sections.append(("model", t["sec_model"], f"<p class='intro'>{t['model_intro']}</p>"
                         + page.model_html))
    sections += [
        ("domains", t["sec_domains"], _domains_section(page, t)),
        ("methods", t["sec_methods"], _methods_section(page, t)),
    ]
    nav = "".join(f"<li><a href='#{key}'>{html.escape(title)}</a></li>"
                  for key, title, _ in sections)
    body = [f"<nav><strong>{t['contents']}</strong><ol>{nav}</ol></nav>"]
    body += [f"<section id='{key}'><h2>{html.escape(title)}</h2>\n{content}</section>"
             for key, title, content in sections]
    template = Template(_resource("report.html"))
    return template.substitute(
        lang="nb" if page.lang == "no" else "en",
        version=html.escape(page.version),
        title=html.escape(t["title"]),
        subtitle=html.escape(t["subtitle"]),
        css=_resource("report.css"),
        body="\n".join(body),
        footer=html.escape(t["generated"].format(when=page.generated, version=page.version)),
    )


def published_matches(published: float, unweighted: float, decimals: int | None = None) -> bool:
    """Whether ``unweighted`` prints as ``published`` (both fractions).

    The report rounds twice, half up (``estimators.inference.catalog.report_round``).
    ``decimals`` are the printed decimals of the percentage; by default those
    of the shortest form of ``published``.
    """
    if not (_finite(published) and _finite(unweighted)):
        return False
    if decimals is None or not _finite(decimals):
        decimals = _decimals(published)
    decimals = int(decimals)
    printed = Decimal(repr(round(100 * published, decimals)))
    return report_round(100 * unweighted, decimals) == printed


def _decimals(published: float) -> int:
    return max(0, -Decimal(repr(round(100 * published, 6))).normalize().as_tuple().exponent)


def pct(x, lang: str, decimals: int = 1) -> str:
    """A fraction as a percentage for display (decimal comma in Norwegian)."""
    if not _finite(x):
        return "–"
    s = f"{100 * x:.{decimals}f}"
    return s.replace(".", ",") if lang == "no" else s


def num(x, lang: str, decimals: int = 0) -> str:
    """A number for display, thousands separated (thin space in Norwegian)."""
    if not _finite(x):
        return "–"
    s = f"{x:,.{decimals}f}"
    if lang == "no":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


def _published_pct(x, lang: str, decimals=None) -> str:
    # The published value at its printed precision (0.297 -> 29.7, 0.3 -> 30).
    if not _finite(x):
        return ""
    if decimals is None or not _finite(decimals):
        decimals = _decimals(x)
    s = f"{100 * x:.{int(decimals)}f}"
    return s.replace(".", ",") if lang == "no" else s


def _sample_section(page: Page, t) -> str:
    lang = page.lang
    parts = [f"<p class='intro'>{t['sample_intro']}</p>"]
    parts += _figures(page, "sample")
    rows = [[html.escape(t.get(r.margin, r.margin)), html.escape(str(r.category)),
             num(r.sample_n, lang), pct(r.sample_share, lang),
             num(r.register_total, lang), pct(r.register_share, lang),
             pct(r.calibrated_share, lang)]
            for r in page.margin_shares.itertuples()]
    parts.append(_table(
        [t["margin"], t["category"], t["sample_n"], t["sample_share"],
         t["register_total"], t["register_share"], t["calibrated_share"]],
        rows, numeric=range(2, 7), css="shares"))
    if page.strata is not None and len(page.strata):
        parts.append(f"<p class='intro'>{t['strata_intro']}</p>")
        rows = [[html.escape(str(r.stratum)), num(r.sample_n, lang), pct(r.sample_share, lang),
                 num(r.register_total, lang), pct(r.register_share, lang)]
                for r in page.strata.itertuples()]
        parts.append(_table([t["stratum"], t["sample_n"], t["sample_share"],
                             t["register_total"], t["register_share"]],
                            rows, numeric=range(1, 5), css="strata"))
    return "\n".join(parts)


def _weights_section(page: Page, t) -> str:
    rows = [[html.escape(t.get(key, key)), html.escape(value)] for key, value in page.weight_stats]
    return "\n".join([_table([t["statistic"], t["value"]], rows, numeric=[1], css="weights")]
                     + _figures(page, "weights"))


def _keyrates_section(page: Page, t) -> str:
    lang, level = page.lang, 100 * page.level
    kr = page.keyrates
    shown = kr[(kr["domain_var"] == "all") | kr["published"].notna()]
    # Each rate's published domains right under its whole-sample row.
    rate_order = {r: i for i, r in enumerate(dict.fromkeys(kr["rate"]))}
    var_order = {v: i for i, v in enumerate(dict.fromkeys(kr["domain_var"]))}
    shown = shown.assign(_r=shown["rate"].map(rate_order),
                         _v=shown["domain_var"].map(var_order)).sort_values(
        ["_r", "_v"], kind="stable").drop(columns=["_r", "_v"])
    rows, first_of_rate, seen = [], [], set()
    for r in shown.itertuples():
        decimals = getattr(r, "published_decimals", None)
        match = published_matches(r.published, r.unweighted, decimals)
        has_pub = _finite(r.published)
        note = ""
        if has_pub and not match:
            note = getattr(r, "note", "")
            note = note if isinstance(note, str) and note else _default_note(
                r.published, r.unweighted, lang)
        label = html.escape(page.rate_labels.get(r.rate, r.rate))
        rows.append([
            f"{label}<br><code>{html.escape(r.rate)}</code>" if r.rate not in seen else "",
            html.escape(domain_label(r.domain_var, str(r.domain), t)),
            _published_pct(r.published, lang, decimals),
            pct(r.unweighted, lang, 2),
            pct(r.estimate, lang),
            _range(r.ci_low, r.ci_high, lang),
            num(r.n, lang),
            _flag(r.flag),
            _pair(getattr(r, "sens_low", math.nan), getattr(r, "sens_high", math.nan), lang),
            html.escape(note),
        ])
        first_of_rate.append(r.rate not in seen)
        seen.add(r.rate)
    cell_css = []
    for r in shown.itertuples():
        ok = published_matches(r.published, r.unweighted, getattr(r, "published_decimals", None))
        cell_css.append({3: ("ok" if ok else "diff") if _finite(r.published) else "",
                         0: "rate-id", 9: "note"})
    header = [t["rate"], t["domain"], t["published"] + " %", t["unweighted"] + " %",
              t["weighted"] + " %", t["ci"].format(level=level), t["n"], t["flag"],
              t["sensitivity"] + " %", t["note"]]
    table = _table(header, rows, numeric=[2, 3, 4, 5, 6, 8], css="keyrates",
                   row_css=["rate-first" if f else "" for f in first_of_rate],
                   cell_css=cell_css, row_ids=[f"rate-{r.rate}--{r.domain_var}--{r.domain}"
                                               for r in shown.itertuples()])
    if page.variant_shares:
        shares = t["shares"].format(**{k: pct(v, page.lang, 0)
                                       for k, v in page.variant_shares.items()})
    else:
        shares = t["no_sensitivity"]
    intro = t["keyrates_intro"].format(level=level, shares=shares)
    return f"<p class='intro'>{intro}</p>\n{table}"


def _range(low, high, lang: str) -> str:
    if not (_finite(low) and _finite(high)):
        return "–"
    return f"{pct(low, lang)} – {pct(high, lang)}"


def _pair(low, high, lang: str) -> str:
    if not (_finite(low) or _finite(high)):
        return "–"
    return f"{pct(low, lang)} / {pct(high, lang)}"


def _default_note(published, unweighted, lang: str) -> str:
    if lang == "no":
        return (f"Publisert {_published_pct(published, lang)} % stemmer ikke med "
                f"{pct(unweighted, lang, 2)} % fra de trykte antallene.")
    return (f"Published {_published_pct(published, lang)} % is not what the printed "
            f"counts give ({pct(unweighted, lang, 2)} %).")


def _forest_section(page: Page, t) -> str:
    return "\n".join([f"<p class='intro'>{t['forest_intro'].format(level=100 * page.level)}</p>"]
                     + _figures(page, "forest"))


def _flags_section(page: Page, t) -> str:
    counts = page.keyrates["flag"].fillna("").astype(str).replace("", "ok").value_counts()
    items = [f"<li><strong>{t['flag_ok']}</strong>: {counts.get('ok', 0)}</li>"]
    for code, rule in page.flag_rules.items():
        items.append(f"<li>{_flag(code)} {html.escape(rule)}: {counts.get(code, 0)}</li>")
    for code in sorted(set(counts.index) - set(page.flag_rules) - {"ok"}):
        items.append(f"<li>{_flag(code)}: {counts[code]}</li>")
    return f"<p class='intro'>{t['flags_intro']}</p><ul>{''.join(items)}</ul>"


def _domains_section(page: Page, t) -> str:
    lang, kr = page.lang, page.keyrates
    parts = [f"<p class='intro'>{t['domains_intro']}</p>"]
    for var, part in kr.groupby("domain_var", sort=False):
        rows = [[html.escape(page.rate_labels.get(r.rate, r.rate)),
                 html.escape(domain_label(r.domain_var, str(r.domain), t)),
                 num(r.n, lang), num(r.weighted_base, lang), pct(r.estimate, lang),
                 _range(r.ci_low, r.ci_high, lang), pct(r.se, lang, 2),
                 num(r.deff, lang, 2), _flag(r.flag)]
                for r in part.itertuples()]
        title = t.get(var, var) if var != "all" else t["all"]
        parts.append(f"<details><summary>{html.escape(title)} ({len(part)})</summary>"
                     + _table([t["rate"], t["domain"], t["n"], "N̂", t["weighted"] + " %",
                               t["ci"].format(level=100 * page.level), "SE %", "deff",
                               t["flag"]], rows, numeric=range(2, 8), css="domains")
                     + "</details>")
    return "\n".join(parts)


def _methods_section(page: Page, t) -> str:
    def dl(pairs):
        return "<dl class='settings'>" + "".join(
            f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in pairs) + "</dl>"
    parts = [f"<h3>{t['methods_settings']}</h3>", dl(page.settings),
             f"<h3>{t['methods_margins']}</h3>", dl(page.margin_sources),
             f"<h3>{t['methods_versions']}</h3>", dl(page.versions.items())]
    if page.files:
        parts += [f"<h3>{t['files']}</h3>",
                  "<ul>" + "".join(f"<li><code>{html.escape(f)}</code></li>"
                                   for f in page.files) + "</ul>"]
    return "\n".join(parts)


def _figures(page: Page, section: str) -> list[str]:
    t = text(page.lang, page.survey_text)
    out = []
    for i, fig in enumerate(page.figures, 1):
        if fig.section != section:
            continue
        data = base64.b64encode(fig.png).decode("ascii")
        out.append(f"<figure id='fig-{html.escape(fig.name)}'>"
                   f"<img src='data:image/png;base64,{data}' alt='{html.escape(fig.caption)}'>"
                   f"<figcaption>{t['figure']} {i}. {html.escape(fig.caption)}</figcaption>"
                   "</figure>")
    return out


def _table(header, rows, *, numeric=(), css="", row_css=None, cell_css=None, row_ids=None):
    numeric = set(numeric)
    head = "".join(f"<th class='num'>{html.escape(h)}</th>" if i in numeric
                   else f"<th>{html.escape(h)}</th>" for i, h in enumerate(header))
    body = []
    for k, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            classes = " ".join(c for c in ("num" if i in numeric else "",
                                           (cell_css[k].get(i, "") if cell_css else "")) if c)
            cells.append(f"<td class='{classes}'>{cell}</td>" if classes else f"<td>{cell}</td>")
        attrs = ""
        if row_css and row_css[k]:
            attrs += f" class='{row_css[k]}'"
        if row_ids:
            attrs += f" id='{html.escape(row_ids[k])}'"
        body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    return (f"<table class='{css}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _flag(code) -> str:
    code = "" if code is None or (isinstance(code, float) and math.isnan(code)) else str(code)
    return f"<span class='flag'>{html.escape(code)}</span>" if code not in ("", "ok") else ""


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _resource(name: str) -> str:
    return resources.files("estimators.report").joinpath("templates", name).read_text("utf-8")
