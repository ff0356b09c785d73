"""The report page and figures, built from a small fake key-rate frame with the
exact keyrates.csv columns (no design, no calibration)."""

import base64
import io
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from estimators.report import figures as figs
from estimators.report.html import Figure, Page, num, pct, published_matches, render
from estimators.report.labels import domain_label, text
from estimators.report.pipeline import KEYRATE_COLUMNS
from estimators.surveys.employers import SURVEY

DOMAINS = (
    [("all", "all")]
    + [("sector", s) for s in ("private", "public")]
    + [("size_class", s) for s in ("1-4", "5-19", "20-49", "50+")]
    + [("sector*size_class", "public*1-4"), ("nace_group", "G")]
)


def fake_keyrates(rates=("trainee_now_rate", "hired_after_trainee_rate", "csr_reason_important")):
    rng = np.random.default_rng(1)
    rows = []
    for rate in rates:
        for var, dom in DOMAINS:
            est = rng.uniform(0.2, 0.8)
            rows.append(
                {
                    "rate": rate,
                    "variable": "x == 'yes'",
                    "domain_var": var,
                    "domain": dom,
                    "n": 120,
                    "weighted_base": 5000.0,
                    "estimate": est,
                    "se": 0.03,
                    "ci_low": est - 0.06,
                    "ci_high": est + 0.06,
                    "deff": 1.4,
                    "flag": "ok" if var != "sector*size_class" else "suppress",
                    "published": np.nan,
                    "unweighted": est + 0.01,
                }
            )
    frame = pd.DataFrame(rows, columns=KEYRATE_COLUMNS)
    # Tabell 5.4: 295 of 993 printed as 29,7 %; 5.10 prints 66 % for 255/368 (= 69.3 %).
    frame.loc[
        (frame.rate == "trainee_now_rate") & (frame.domain == "all"), ["published", "unweighted"]
    ] = [0.297, 295 / 993]
    frame.loc[
        (frame.rate == "hired_after_trainee_rate") & (frame.domain == "all"),
        ["published", "unweighted"],
    ] = [0.66, 255 / 368]
    frame.loc[
        (frame.rate == "hired_after_trainee_rate") & (frame.domain == "public"),
        ["published", "unweighted"],
    ] = [0.467, 28 / 60]
    return frame


def fake_page(lang="en", frame=None):
    frame = (fake_keyrates() if frame is None else frame).assign(kind="proportion")
    t = text(lang, SURVEY.text)
    shares = pd.DataFrame(
        {
            "margin": ["sector", "sector"],
            "category": ["public", "private"],
            "sample_n": [200, 800],
            "sample_share": [0.2, 0.8],
            "register_total": [10000.0, 190000.0],
            "register_share": [0.05, 0.95],
            "calibrated_share": [0.05, 0.95],
        }
    )
    labels = {"trainee_now_rate": "Share of firms with trainee(s) now"}
    png = figs.to_png(
        figs.forest(
            frame,
            ["trainee_now_rate", "csr_reason_important"],
            labels,
            t,
            0.95,
            SURVEY.forest_domains,
        )
    )
    return Page(
        lang=lang,
        level=0.95,
        keyrates=frame.assign(sens_low=frame.estimate - 0.01, sens_high=frame.estimate + 0.01),
        rate_labels=labels,
        margin_shares=shares,
        strata=None,
        weight_stats=[("w_min", "1.00"), ("n_eff", "512.3")],
        figures=[Figure("forest_trainees", "Work placements", png, "forest")],
        flag_rules={"suppress": "fewer than 30 respondents in the base"},
        settings=[("seed", "20170602")],
        margin_sources=[("sector", "SSB")],
        survey_text=SURVEY.text,
    )


def page_html(pages):
    return render(
        pages,
        versions={"kalib": "0.1.0", "numpy": "2"},
        generated="2026-01-01 00:00 UTC",
        files=["index.html"],
    )


def test_published_matches_uses_the_reports_double_rounding():
    assert published_matches(0.297, 295 / 993)
    assert published_matches(0.3, 295 / 993)  # printed without decimals
    assert published_matches(0.946, 52 / 55)  # 94.545 -> 94.55 -> 94.6
    assert not published_matches(0.945, 52 / 55)
    assert not published_matches(0.66, 255 / 368)  # 69.3 %
    assert not published_matches(np.nan, 0.5)


def test_every_key_rate_has_a_row_and_every_published_domain_too():
    frame = fake_keyrates()
    html = page_html(fake_page(frame=frame))
    for rate in frame.rate.unique():
        assert f"id='rate-{rate}--all--all'" in html
    assert "id='rate-hired_after_trainee_rate--sector--public'" in html
    # unpublished sector rows stay out of the reconciliation table
    assert "id='rate-trainee_now_rate--sector--public'" not in html


def test_differences_from_the_published_value_are_marked_and_explained():
    html = page_html(fake_page())
    row = re.search(
        r"<tr[^>]*id='rate-hired_after_trainee_rate--all--all'>(.*?)</tr>", html
    ).group(1)
    assert "class='num diff'>69.29<" in row
    assert "Published 66 % is not what the printed counts give (69.29 %)" in row
    row = re.search(r"<tr[^>]*id='rate-trainee_now_rate--all--all'>(.*?)</tr>", html).group(1)
    assert "class='num ok'>29.71<" in row and ">29.7<" in row


def test_page_is_self_contained():
    html = page_html(fake_page())
    assert not re.search(r"""(src|href)=['"](?!data:|#)""", html)
    assert "<link" not in html and "<script" not in html
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(images) == 1
    assert base64.b64decode(images[0]).startswith(b"\x89PNG")


def test_norwegian_page_uses_norwegian_labels_and_decimal_comma():
    html = page_html(fake_page("no"))
    assert '<html lang="nb">' in html and "Nøkkeltall" in html
    assert ">29,7<" in html and ">29,71<" in html
    assert pct(0.1234, "no") == "12,3" and num(12345.5, "no", 1) == "12\u202f345,5"


def test_domain_labels_and_groups():
    t = text("en", SURVEY.text)
    assert domain_label("sector*size_class", "public*1-4", t) == "Public · 1-4 employees"
    assert domain_label("all", "all", text("no", SURVEY.text)) == "Alle virksomheter"
    # without the survey's strings: generic wording, values as they are
    assert domain_label("sector*size_class", "public*1-4", text("en")) == "public · 1-4"
    assert domain_label("all", "all", text("en")) == "All units"
    assert SURVEY.rate_group("csr_reason_important") == "reasons"
    assert SURVEY.rate_group("disability_difficult_rates.stability") == "disability"
    assert SURVEY.rate_group("not_a_rate") == "other"
    assert SURVEY.group_label("nav", "no") == "Hva NAV kan gjøre"
    with pytest.raises(ValueError, match="language 'de'"):
        text("de")


def test_rate_labels_fall_back_to_the_catalog_meaning_then_the_id():
    assert SURVEY.rate_label("trainee_now_rate", "no") == "Har praksiskandidat nå"
    assert SURVEY.rate_label("trainee_now_rate", "en") == "Has a trainee now"
    unlabelled = SURVEY.get_rate("trainee_now_rate")
    bare = type(SURVEY)(**{**SURVEY.__dict__, "rate_labels": {}})
    assert bare.rate_label("trainee_now_rate", "en") == unlabelled.meaning
    assert bare.rate_label("no_such_rate", "en") == "no_such_rate"


def test_forest_has_one_panel_per_rate_with_all_sector_and_size_rows():
    frame = fake_keyrates()
    rates = ["trainee_now_rate", "hired_after_trainee_rate", "csr_reason_important"]
    fig = figs.forest(frame, rates, {}, text("en", SURVEY.text), 0.95, SURVEY.forest_domains)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 3
    ticks = [tick.get_text() for tick in axes[0].get_yticklabels()]
    assert ticks == [
        "All firms",
        "Private",
        "Public",
        "1-4 employees",
        "5-19 employees",
        "20-49 employees",
        "50+ employees",
    ]
    # the weighted CI of the first row spans estimate +- 6 points
    est = frame[(frame.rate == "trainee_now_rate") & (frame.domain == "all")].estimate.iloc[0]
    lines = axes[0].collections[0].get_segments()
    assert np.allclose(lines[0][:, 0], [100 * est - 6, 100 * est + 6])
    # after the seven intervals, the grey separators between the all, sector
    # and size blocks, across the panel
    assert [segment[0, 1] for segment in lines[7:]] == [-0.5, -2.5]
    assert all(np.allclose(segment[:, 0], axes[0].get_xlim()) for segment in lines[7:])
    colours = axes[0].collections[0].get_colors()
    assert to_hex(colours[7]) == figs.SEPARATOR_COLOUR != to_hex(colours[0])
    # x ticks only where they are drawn (a tick object costs as much outside
    # the limits), the same in every panel, and still MaxNLocator's steps
    low, high = axes[0].get_xlim()
    xticks = axes[0].get_xticks()
    assert low <= xticks.min() and xticks.max() <= high and len(xticks) >= 3
    assert all(np.array_equal(ax.get_xticks(), xticks) for ax in axes)
    assert set(np.diff(xticks).round(9)) == {round(xticks[1] - xticks[0], 9)}
    figs.plt.close(fig)


def test_figure_png_has_the_pixels_of_matplotlibs_own():
    """to_png encodes with Pillow (RGB, fast zlib) what savefig would have
    written as RGBA: the same pixels, every one opaque."""
    from PIL import Image

    def draw():
        rates = ["trainee_now_rate", "hired_after_trainee_rate"]
        return figs.forest(fake_keyrates(), rates, {}, text("en", SURVEY.text), 0.95)

    ours = Image.open(io.BytesIO(figs.to_png(draw())))
    fig, theirs = draw(), io.BytesIO()
    fig.savefig(theirs, format="png", dpi=100)
    figs.plt.close(fig)
    rgba = np.asarray(Image.open(theirs))
    assert ours.mode == "RGB" and np.allclose(ours.info["dpi"], 100, atol=1e-3)
    assert (rgba[..., 3] == 255).all()
    assert np.array_equal(np.asarray(ours), rgba[..., :3])


def test_published_domains_sit_under_their_rate_and_sensitivity_is_shown():
    html = page_html(fake_page())
    ids = re.findall(r"<tr[^>]*id='rate-([^']+)'", html)
    assert ids == [
        "trainee_now_rate--all--all",
        "hired_after_trainee_rate--all--all",
        "hired_after_trainee_rate--sector--public",
        "csr_reason_important--all--all",
    ]
    row = re.search(r"id='rate-trainee_now_rate--all--all'>(.*?)</tr>", html).group(1)
    est = fake_keyrates().query("rate == 'trainee_now_rate' and domain == 'all'").estimate.iloc[0]
    assert f"{100 * est - 1:.1f} / {100 * est + 1:.1f}" in row


def test_sensitivity_intro_names_the_public_shares_or_says_why_not():
    page = fake_page()
    page.variant_shares = {"central": 0.13, "low": 0.11, "high": 0.16}
    assert "public share of establishments 11 % and 16 % instead of 13 %" in page_html(page)
    page.variant_shares = None
    assert "not computed: the margins were given with --margins" in page_html(page)


def test_published_matches_reads_words_as_intervals_and_means_as_they_are():
    # "drøyt 80 prosent": 80 < p <= 83; 490/601 = 81.53 % is in it, 79.9 % is not
    assert published_matches(0.80, 490 / 601, 0, low=80, high=83)
    assert not published_matches(0.80, 0.799, 0, low=80, high=83)
    assert not published_matches(0.80, 0.831, 0, low=80, high=83)
    # without the interval the nominal 80 is compared at its decimals
    assert not published_matches(0.80, 490 / 601, 0)
    # a mean is printed as it is: 11.6 for 11.622, not 1162.2
    assert published_matches(11.6, 11.62212, 1, scale=1)
    assert not published_matches(11.6, 11.66, 1, scale=1)
    assert not published_matches(11.6, 11.62212, 1)


def staff_like_keyrates():
    """Two rates by role: one asked of everybody, one of job consultants only,
    nothing published by role; and a mean."""
    rows = []
    for rate, kind, roles in (
        ("asked_all", "proportion", ("jc", "gm")),
        ("asked_jc", "proportion", ("jc",)),
        ("mean_rate", "mean", ("jc",)),
    ):
        est = 11.6 if kind == "mean" else 0.8
        for var, dom in [("all", "all"), ("role", "jc"), ("role", "gm")]:
            n = 100 if dom in roles or var == "all" else 0
            rows.append(
                {
                    "rate": rate,
                    "variable": "x",
                    "domain_var": var,
                    "domain": dom,
                    "n": n,
                    "weighted_base": 300.0 * (n > 0),
                    "estimate": est if n else np.nan,
                    "se": 0.02 if n else np.nan,
                    "ci_low": est - 0.04 if n else np.nan,
                    "ci_high": est + 0.04 if n else np.nan,
                    "deff": 1.0 if n else np.nan,
                    "flag": "ok" if n else "empty",
                    "published": (est if var == "all" else np.nan),
                    "unweighted": est if n else np.nan,
                    "kind": kind,
                }
            )
    return pd.DataFrame(rows)


def test_table_domains_get_every_answered_row_marked_not_published():
    page = fake_page()
    frame = staff_like_keyrates()
    page.keyrates = frame.assign(sens_low=np.nan, sens_high=np.nan)
    page.table_domains = ("role",)
    html = page_html(page)
    ids = re.findall(r"<tr[^>]*id='rate-([^']+)'", html)
    assert ids == [
        "asked_all--all--all",
        "asked_all--role--jc",
        "asked_all--role--gm",
        "asked_jc--all--all",
        "asked_jc--role--jc",
        "mean_rate--all--all",
        "mean_rate--role--jc",
    ]
    row = re.search(r"id='rate-asked_all--role--gm'>(.*?)</tr>", html).group(1)
    assert "<span class='np'>not published</span>" in row
    mean = re.search(r"id='rate-mean_rate--all--all'>(.*?)</tr>", html).group(1)
    assert ">11.6<" in mean and ">11.60<" in mean and "11.6 – 11.6" in mean
    assert "class='num ok'>11.60<" in mean
    page.table_domains = ()  # the employer survey's rule
    assert "rate-asked_all--role--gm" not in page_html(page)


def test_parts_are_numbered_with_their_own_anchors_and_figures_numbered_through():
    first, second = fake_page(), fake_page()
    second.prefix = "staff_"
    second.keyrates = staff_like_keyrates().assign(sens_low=np.nan, sens_high=np.nan)
    second.figures = [Figure("staff_forest_x", "Staff rates", first.figures[0].png, "forest")]
    html = page_html([first, second])
    assert html.count("<h2 class='part'>") == 2 and "Part 2." in html
    assert "<title>Reweighted surveys: key rates with confidence intervals</title>" in html
    ids = set(re.findall(r"id='([^']+)'", html))
    assert {"keyrates", "staff_keyrates", "staff_part", "software"} <= ids
    assert set(re.findall(r"href='#([^']+)'", html)) <= ids
    assert "Figure 1. Work placements" in html and "Figure 2. Staff rates" in html
    single = page_html(first)  # one survey: its own title
    assert "<h2 class='part'>" not in single and "Reweighted employer survey" in single


def test_category_distribution_stacks_each_level_to_100_percent():
    rows = []
    for variable, levels in (("sector", ("private", "public")), ("size_class", ("1-4", "50+"))):
        for k, level in enumerate(levels):
            shares = np.array([1, 2, 3, 3, 1], float) + k
            for category, share in zip("12345", shares / shares.sum()):
                rows.append(
                    {
                        "variable": variable,
                        "level": level,
                        "category": category,
                        "label": category,
                        "estimate": share,
                    }
                )
    fig = figs.category_distribution(pd.DataFrame(rows), text("en", SURVEY.text))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 2
    assert [t.get_text() for t in axes[0].get_yticklabels()] == ["Private", "Public"]
    for ax in axes:
        ends = {}
        for bar in ax.patches:
            y = round(bar.get_y(), 6)
            ends[y] = max(ends.get(y, 0), bar.get_x() + bar.get_width())
        assert np.allclose(list(ends.values()), 100)
    figs.plt.close(fig)


def test_forest_of_a_mean_uses_its_own_scale_and_leaves_out_unasked_domains():
    frame = staff_like_keyrates()
    t = {**text("en"), "role=jc": "Job consultants", "role=gm": "General managers"}
    fig = figs.forest(
        frame, ["mean_rate"], {}, t, 0.95, ("all", "role"), scale=1, axis="participants"
    )
    ax = [a for a in fig.axes if a.get_visible()][0]
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["All units", "Job consultants"]
    segments = ax.collections[0].get_segments()
    assert np.allclose(segments[0][:, 0], [11.56, 11.64])  # not x 100
    assert ax.get_xlabel() == "participants"
    figs.plt.close(fig)
