"""The self-contained report page: inline CSS, figures as base64 data URIs.

:func:`render` turns a :class:`Page` (plain frames, numbers and PNG bytes) into
one HTML string; it knows nothing of designs or calibration, so the page can
be built and tested from a small results frame.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
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
    """One survey's part of the page, already computed."""

    lang: str
    level: float
    keyrates: pd.DataFrame  # keyrates.csv columns + kind, sens_low, sens_high,
    #                                   published_decimals/_low/_high/_text, note
    #                                   (+ clus{k}_low, clus{k}_high with clustering)
    rate_labels: dict[str, str]
    margin_shares: pd.DataFrame | None  # margin, category, sample_n, sample_share,
    #                                     register_total, register_share, calibrated_share
    strata: pd.DataFrame | None  # stratum, sample_n, sample_share, register_total,
    #                                   register_share (+ register_total_low/_high)
    weight_stats: list[tuple[str, str]]
    figures: list[Figure]
    flag_rules: dict[str, str]  # flag code -> the rule it stands for
    settings: list[tuple[str, str]]
    margin_sources: list[tuple[str, str]]
    model_html: str | None = None
    variant_shares: dict[str, float] | None = None  # variant key -> the share it moves
    survey_text: dict = field(default_factory=dict)  # the survey's strings {lang: {key: text}}
    prefix: str = ""  # of the part's anchors (a second survey's part)
    clustering: dict | None = None  # clusters, rhos, m, factors (pipeline.clustering_summary)
    table_domains: tuple = ()  # domain variables shown in full in the key-rate table
    assumptions: list = field(default_factory=list)  # surveys.base.Assumption, in order


#: The sections of a part, in order (keys of the page's anchors and of
#: ``Assumption.where``).
SECTIONS = (
    "sample",
    "weights",
    "keyrates",
    "forest",
    "flags",
    "model",
    "domains",
    "methods",
    "assumptions",
)


def render(
    pages: Page | Iterable[Page],
    *,
    versions: dict[str, str],
    generated: str,
    files: Sequence[str] = (),
) -> str:
    """The whole page as an HTML string: one part per :class:`Page` (a survey),
    then the software and files of the run.

    With one page the survey's title heads the page, as before there were two
    surveys; with several each part has its own heading and numbered title.
    """
    pages = [pages] if isinstance(pages, Page) else list(pages)
    lang = pages[0].lang
    t0 = text(lang)
    version = versions.get("kalib", "")
    several = len(pages) > 1
    body, nav, offset = [], [], 0
    for number, page in enumerate(pages, 1):
        t = text(lang, page.survey_text)
        sections = _sections(page, t, offset)
        offset += len(page.figures)
        level = "h3" if several else "h2"
        items = "".join(
            f"<li><a href='#{page.prefix}{key}'>{html.escape(title)}</a></li>"
            for key, title, _ in sections
        )
        content = [
            f"<section id='{page.prefix}{key}'><{level}>{html.escape(title)}</{level}>"
            f"\n{inner}</section>"
            for key, title, inner in sections
        ]
        if several:
            anchor = f"{page.prefix}part"
            nav.append(
                f"<li><a href='#{anchor}'>{html.escape(t['title'])}</a><ol>{items}</ol></li>"
            )
            body.append(
                f"<section class='part' id='{anchor}'><h2 class='part'>"
                f"{t['part'].format(number)} {html.escape(t['title'])}</h2>"
                f"<p class='sub'>{html.escape(t['subtitle'])}</p>\n"
                + "\n".join(content)
                + "</section>"
            )
        else:
            nav.append(items)
            body += content
    software = [f"<h3>{t0['methods_versions']}</h3>", _dl(versions.items())]
    if files:
        software += [
            f"<h3>{t0['files']}</h3>",
            "<ul>" + "".join(f"<li><code>{html.escape(f)}</code></li>" for f in files) + "</ul>",
        ]
    nav.append(f"<li><a href='#software'>{html.escape(t0['sec_software'])}</a></li>")
    body.append(
        f"<section id='software'><h2>{html.escape(t0['sec_software'])}</h2>\n"
        + "\n".join(software)
        + "</section>"
    )
    nav_list = "<ol class='parts'>" if several else "<ol>"
    head = [f"<nav><strong>{t0['contents']}</strong>{nav_list}{''.join(nav)}</ol></nav>"]
    if several:
        title, subtitle = (
            t0["report_title"],
            " · ".join(text(lang, page.survey_text)["subtitle"] for page in pages),
        )
    else:
        t = text(lang, pages[0].survey_text)
        title, subtitle = t["title"], t["subtitle"]
    template = Template(_resource("report.html"))
    return template.substitute(
        lang="nb" if lang == "no" else "en",
        version=html.escape(version),
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        css=_resource("report.css"),
        body="\n".join(head + body),
        footer=html.escape(t0["generated"].format(when=generated, version=version)),
    )


def _sections(page: Page, t, offset: int) -> list[tuple[str, str, str]]:
    """``(key, title, html)`` of every section of one part that has content."""
    sections = [
        ("sample", t["sec_sample"], _sample_section(page, t, offset)),
        ("weights", t["sec_weights"], _weights_section(page, t, offset)),
        ("keyrates", t["sec_keyrates"], _keyrates_section(page, t)),
        ("forest", t["sec_forest"], _forest_section(page, t, offset)),
        ("flags", t["sec_flags"], _flags_section(page, t)),
    ]
    if page.model_html:
        sections.append(
            (
                "model",
                t["sec_model"],
                f"<p class='intro'>{t['model_intro']}</p>"
                + page.model_html
                + "\n".join(_figures(page, "model", offset)),
            )
        )
    sections += [
        ("domains", t["sec_domains"], _domains_section(page, t)),
        ("methods", t["sec_methods"], _methods_section(page, t)),
    ]
    if page.assumptions:
        titles = dict((key, title) for key, title, _ in sections)
        sections.append(
            ("assumptions", t["sec_assumptions"], _assumptions_section(page, t, titles))
        )
    return sections


def published_matches(
    published: float,
    unweighted: float,
    decimals: int | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    scale: float = 100,
) -> bool:
    """Whether ``unweighted`` prints as ``published`` (both fractions).

    The report rounds twice, half up (``estimators.inference.catalog.report_round``).
    ``decimals`` are the printed decimals of the percentage; by default those
    of the shortest form of ``published``. A number stated in words has the
    interval ``low`` .. ``high`` (percent) of the shares its wording allows
    (:class:`~estimators.inference.catalog.Published`): it matches when
    ``unweighted`` lies in it (ends included). ``scale`` is 1 for a mean,
    printed as it is rather than as a percentage.
    """
    if not (_finite(published) and _finite(unweighted)):
        return False
    if low is not None and high is not None and _finite(low) and _finite(high):
        return float(low) <= scale * unweighted <= float(high)
    if decimals is None or not _finite(decimals):
        decimals = _decimals(published, scale)
    decimals = int(decimals)
    printed = Decimal(repr(round(scale * published, decimals)))
    return report_round(scale * unweighted, decimals) == printed


def _decimals(published: float, scale: float = 100) -> int:
    """Decimals of the shortest form of a finite ``published`` (whose exponent
    is an int; NaN's and infinity's are letters)."""
    exponent = Decimal(repr(round(scale * published, 6))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def pct(x: float, lang: str, decimals: int = 1) -> str:
    """A fraction as a percentage for display (decimal comma in Norwegian)."""
    if not _finite(x):
        return "–"
    s = f"{100 * x:.{decimals}f}"
    return s.replace(".", ",") if lang == "no" else s


def num(x: float, lang: str, decimals: int = 0) -> str:
    """A number for display, thousands separated (thin space in Norwegian)."""
    if not _finite(x):
        return "–"
    s = f"{x:,.{decimals}f}"
    if lang == "no":
        s = s.replace(",", "\u202f").replace(".", ",")
    return s


def value(x: float, kind: str, lang: str, decimals: int = 1) -> str:
    """An estimate for display: a proportion in percent, a mean as it is."""
    return num(x, lang, decimals) if kind == "mean" else pct(x, lang, decimals)


def _scale(kind: str) -> float:
    return 1.0 if kind == "mean" else 100.0


def _published_pct(x, lang: str, decimals=None, scale: float = 100) -> str:
    # The published value at its printed precision (0.297 -> 29.7, 0.3 -> 30).
    if not _finite(x):
        return ""
    if decimals is None or not _finite(decimals):
        decimals = _decimals(x, scale)
    s = f"{scale * x:.{int(decimals)}f}"
    return s.replace(".", ",") if lang == "no" else s


def _sample_section(page: Page, t, offset: int) -> str:
    lang = page.lang
    parts = [f"<p class='intro'>{t['sample_intro']}</p>"]
    parts += _figures(page, "sample", offset)
    if page.margin_shares is not None:
        rows = [
            [
                html.escape(t.get(r.margin, r.margin)),
                html.escape(str(r.category)),
                num(r.sample_n, lang),
                pct(r.sample_share, lang),
                num(r.register_total, lang),
                pct(r.register_share, lang),
                pct(r.calibrated_share, lang),
            ]
            for r in page.margin_shares.itertuples()
        ]
        parts.append(
            _table(
                [
                    t["margin"],
                    t["category"],
                    t["sample_n"],
                    t["sample_share"],
                    t["register_total"],
                    t["register_share"],
                    t["calibrated_share"],
                ],
                rows,
                numeric=range(2, 7),
                css="shares",
            )
        )
    if page.strata is not None and len(page.strata):
        parts.append(f"<p class='intro'>{t['strata_intro']}</p>")
        strata = page.strata
        variants = "register_total_low" in strata and "register_total_high" in strata
        header = [t["stratum"], t["sample_n"], t["sample_share"], t["register_total"]]
        if variants:
            header.append(t["register_variants"])
        header += [t["register_share"], t["stratum_weight"], t["stratum_fraction"]]
        rows = []
        for r in strata.itertuples():
            row = [
                html.escape(str(getattr(r, "label", r.stratum))),
                num(r.sample_n, lang),
                pct(r.sample_share, lang),
                num(r.register_total, lang, 1 if variants else 0),
            ]
            if variants:
                row.append(
                    f"{num(r.register_total_low, lang, 1)} / {num(r.register_total_high, lang, 1)}"
                )
            row += [
                pct(r.register_share, lang),
                num(r.register_total / r.sample_n, lang, 3),
                pct(r.sample_n / r.register_total, lang),
            ]
            rows.append(row)
        parts.append(_table(header, rows, numeric=range(1, len(header)), css="strata"))
    return "\n".join(parts)


def _weights_section(page: Page, t, offset: int) -> str:
    rows = [[html.escape(t.get(key, key)), html.escape(shown)] for key, shown in page.weight_stats]
    intro = [f"<p class='intro'>{t['weights_intro']}</p>"] if t.get("weights_intro") else []
    return "\n".join(
        intro
        + [_table([t["statistic"], t["value"]], rows, numeric=[1], css="weights")]
        + _figures(page, "weights", offset)
    )


def _shown_rows(page: Page) -> pd.DataFrame:
    """The key-rate table's rows: every rate for the whole population, each
    published domain, and every answered domain of ``table_domains``; each
    rate's domains right under its whole-population row."""
    kr = page.keyrates
    full = kr["domain_var"].isin(page.table_domains) & (kr["n"] > 0)
    shown = kr[(kr["domain_var"] == "all") | kr["published"].notna() | full]
    rate_order = {r: i for i, r in enumerate(dict.fromkeys(kr["rate"]))}
    var_order = {v: i for i, v in enumerate(dict.fromkeys(kr["domain_var"]))}
    return (
        shown.assign(_r=shown["rate"].map(rate_order), _v=shown["domain_var"].map(var_order))
        .sort_values(["_r", "_v"], kind="stable")
        .drop(columns=["_r", "_v"])
    )


def _matches(r) -> bool:
    return published_matches(
        r.published,
        r.unweighted,
        getattr(r, "published_decimals", None),
        low=getattr(r, "published_low", None),
        high=getattr(r, "published_high", None),
        scale=_scale(getattr(r, "kind", "proportion")),
    )


def _keyrates_section(page: Page, t) -> str:
    lang, level = page.lang, 100 * page.level
    shown = _shown_rows(page)
    rhos = page.clustering["rhos"] if page.clustering else ()
    rows, first_of_rate, cell_css, seen = [], [], [], set()
    for r in shown.itertuples():
        kind = getattr(r, "kind", "proportion")
        scale = _scale(kind)
        decimals = getattr(r, "published_decimals", None)
        low, high = getattr(r, "published_low", None), getattr(r, "published_high", None)
        has_pub = _finite(r.published)
        words = has_pub and _finite(low) and _finite(high)
        match = _matches(r)
        note = getattr(r, "note", "")
        note = note if isinstance(note, str) else ""
        if has_pub and not match and not note:
            note = _default_note(r.published, r.unweighted, lang, scale)
        if words:
            note = " ".join(
                x
                for x in (
                    t["in_words"].format(
                        text=r.published_text, low=_number(low, lang), high=_number(high, lang)
                    ),
                    note,
                )
                if x
            )
        if words:
            published = f"{_number(low, lang)}–{_number(high, lang)}"
        elif has_pub:
            published = _published_pct(r.published, lang, decimals, scale)
        else:
            published = f"<span class='np'>{html.escape(t['not_published'])}</span>"
        label = html.escape(page.rate_labels.get(r.rate, r.rate))
        row = [
            f"{label}<br><code>{html.escape(r.rate)}</code>" if r.rate not in seen else "",
            html.escape(domain_label(r.domain_var, str(r.domain), t)),
            published,
            value(r.unweighted, kind, lang, 2),
            value(r.estimate, kind, lang),
            value(r.se, kind, lang, 2),
            _range(r.ci_low, r.ci_high, lang, kind),
            num(r.deff, lang, 2),
            num(r.n, lang),
            _flag(r.flag),
            _pair(getattr(r, "sens_low", math.nan), getattr(r, "sens_high", math.nan), lang, kind),
        ]
        row += [
            _range(getattr(r, f"clus{k}_low"), getattr(r, f"clus{k}_high"), lang, kind)
            for k in range(len(rhos))
        ]
        row.append(html.escape(note))
        rows.append(row)
        first_of_rate.append(r.rate not in seen)
        cell_css.append(
            {
                3: ("ok" if match else "diff") if has_pub else "",
                0: "rate-id",
                len(row) - 1: "note",
                **{11 + k: "clus" for k in range(len(rhos))},
            }
        )
        seen.add(r.rate)
    header = [
        t["rate"],
        t["domain"],
        t["published"] + " %",
        t["unweighted"] + " %",
        t["weighted"] + " %",
        "SE",
        t["ci"].format(level=level),
        "deff",
        t["n"],
        t["flag"],
        t["sensitivity"] + " %",
    ]
    header += [t["clustering"].format(level=level, rho=num(rho, lang, 2)) for rho in rhos]
    header.append(t["note"])
    table = _table(
        header,
        rows,
        numeric=range(2, len(header) - 1),
        css="keyrates",
        row_css=["rate-first" if f else "rate-domain" for f in first_of_rate],
        cell_css=cell_css,
        row_ids=[f"rate-{r.rate}--{r.domain_var}--{r.domain}" for r in shown.itertuples()],
    )
    if page.variant_shares:
        shares = t["shares"].format(
            **{k: pct(v, page.lang, 0) for k, v in page.variant_shares.items()}
        )
    else:
        shares = t["no_sensitivity"]
    intro = [f"<p class='intro'>{t['keyrates_intro'].format(level=level, shares=shares)}</p>"]
    if page.clustering:
        c = page.clustering
        intro.append(
            "<p class='intro'>"
            + t["clustering_intro"].format(
                clusters=c["clusters"],
                level=level,
                rhos=_rhos(rhos, lang),
                m=num(c["m"], lang, 1),
                factors=" / ".join(num(f, lang, 2) for f in c["factors"]),
            )
            + "</p>"
        )
    return "\n".join(intro + [table])


def _rhos(rhos, lang: str) -> str:
    return " / ".join(num(r, lang, 2) for r in rhos)


def _number(x, lang: str) -> str:
    """A published percentage bound as printed (80, 60.5)."""
    s = f"{float(x):g}"
    return s.replace(".", ",") if lang == "no" else s


def _range(low, high, lang: str, kind: str = "proportion") -> str:
    if not (_finite(low) and _finite(high)):
        return "–"
    return f"{value(low, kind, lang)} – {value(high, kind, lang)}"


def _pair(low, high, lang: str, kind: str = "proportion") -> str:
    if not (_finite(low) or _finite(high)):
        return "–"
    return f"{value(low, kind, lang)} / {value(high, kind, lang)}"


def _default_note(published, unweighted, lang: str, scale: float = 100) -> str:
    unit = " %" if scale == 100 else ""
    shown = f"{scale * unweighted:.2f}"
    shown = shown.replace(".", ",") if lang == "no" else shown
    if lang == "no":
        return (
            f"Publisert {_published_pct(published, lang, scale=scale)}{unit} stemmer "
            f"ikke med {shown}{unit} fra de trykte antallene."
        )
    return (
        f"Published {_published_pct(published, lang, scale=scale)}{unit} is not what "
        f"the printed counts give ({shown}{unit})."
    )


def _forest_section(page: Page, t, offset: int) -> str:
    return "\n".join(
        [f"<p class='intro'>{t['forest_intro'].format(level=100 * page.level)}</p>"]
        + _figures(page, "forest", offset)
    )


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
        rows = []
        for r in part.itertuples():
            kind = getattr(r, "kind", "proportion")
            rows.append(
                [
                    html.escape(page.rate_labels.get(r.rate, r.rate)),
                    html.escape(domain_label(r.domain_var, str(r.domain), t)),
                    num(r.n, lang),
                    num(r.weighted_base, lang),
                    value(r.estimate, kind, lang),
                    _range(r.ci_low, r.ci_high, lang, kind),
                    value(r.se, kind, lang, 2),
                    num(r.deff, lang, 2),
                    _flag(r.flag),
                ]
            )
        title = t.get(var, var) if var != "all" else t["all"]
        parts.append(
            f"<details><summary>{html.escape(title)} ({len(part)})</summary>"
            + _table(
                [
                    t["rate"],
                    t["domain"],
                    t["n"],
                    "N̂",
                    t["weighted"] + " %",
                    t["ci"].format(level=100 * page.level),
                    "SE",
                    "deff",
                    t["flag"],
                ],
                rows,
                numeric=range(2, 8),
                css="domains",
            )
            + "</details>"
        )
    return "\n".join(parts)


def _dl(pairs) -> str:
    return (
        "<dl class='settings'>"
        + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in pairs)
        + "</dl>"
    )


def _methods_section(page: Page, t) -> str:
    parts = [f"<h4>{t['methods_settings']}</h4>", _dl(page.settings)]
    if page.margin_sources:
        parts += [f"<h4>{t['methods_margins']}</h4>", _dl(page.margin_sources)]
    return "\n".join(parts)


def _assumptions_section(page: Page, t, titles: dict[str, str]) -> str:
    """The closing note: every assumption of the design and the sections of
    the page that state it."""
    items = []
    for a in page.assumptions:
        where = ", ".join(
            f"<a href='#{page.prefix}{key}'>{html.escape(titles[key])}</a>"
            for key in a.where
            if key in titles
        )
        stated = f" <span class='where'>({t['stated_in']} {where})</span>" if where else ""
        items.append(
            f"<li><strong>{html.escape(a.title)}.</strong> {html.escape(a.text)}{stated}</li>"
        )
    return (
        f"<p class='intro'>{t['assumptions_intro']}</p>"
        f"<ol class='assumptions'>{''.join(items)}</ol>"
    )


def _figures(page: Page, section: str, offset: int = 0) -> list[str]:
    """The part's figures of ``section``, numbered through the whole page
    (``offset`` figures come before this part's)."""
    t = text(page.lang, page.survey_text)
    out = []
    for i, fig in enumerate(page.figures, offset + 1):
        if fig.section != section:
            continue
        data = base64.b64encode(fig.png).decode("ascii")
        out.append(
            f"<figure id='fig-{html.escape(fig.name)}'>"
            f"<img src='data:image/png;base64,{data}' alt='{html.escape(fig.caption)}'>"
            f"<figcaption>{t['figure']} {i}. {html.escape(fig.caption)}</figcaption>"
            "</figure>"
        )
    return out


def _table(header, rows, *, numeric=(), css="", row_css=None, cell_css=None, row_ids=None):
    numeric = set(numeric)
    head = "".join(
        f"<th class='num'>{html.escape(h)}</th>" if i in numeric else f"<th>{html.escape(h)}</th>"
        for i, h in enumerate(header)
    )
    body = []
    for k, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            classes = " ".join(
                c
                for c in (
                    "num" if i in numeric else "",
                    (cell_css[k].get(i, "") if cell_css else ""),
                )
                if c
            )
            cells.append(f"<td class='{classes}'>{cell}</td>" if classes else f"<td>{cell}</td>")
        attrs = ""
        if row_css and row_css[k]:
            attrs += f" class='{row_css[k]}'"
        if row_ids:
            attrs += f" id='{html.escape(row_ids[k])}'"
        body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    return (
        f"<table class='{css}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _flag(code) -> str:
    code = "" if code is None or (isinstance(code, float) and math.isnan(code)) else str(code)
    return f"<span class='flag'>{html.escape(code)}</span>" if code not in ("", "ok") else ""


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _resource(name: str) -> str:
    # one part per joinpath: Python 3.10's Traversable.joinpath takes one
    return (
        resources.files("estimators.report")
        .joinpath("templates")
        .joinpath(name)
        .read_text("utf-8")
    )
