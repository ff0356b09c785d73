"""The report page and figures, built from a small fake key-rate frame with the
exact keyrates.csv columns (no design, no calibration)."""
import base64
import re

import numpy as np
import pandas as pd
import pytest

from estimators.report import figures as figs
from estimators.report.html import Figure, Page, num, pct, published_matches, render
from estimators.report.labels import domain_label, text
from estimators.report.pipeline import KEYRATE_COLUMNS
from estimators.surveys.employers import SURVEY

DOMAINS = ([("all", "all")] + [("sector", s) for s in ("private", "public")]
           + [("size_class", s) for s in ("1-4", "5-19", "20-49", "50+")]
           + [("sector*size_class", "public*1-4"), ("nace_group", "G")])


def fake_keyrates(rates=("trainee_now_rate", "hired_after_trainee_rate", "csr_reason_important")):
    rng = np.random.default_rng(1)
    rows = []
    for rate in rates:
        for var, dom in DOMAINS:
            est = rng.uniform(0.2, 0.8)
            rows.append({"rate": rate, "variable": "x == 'yes'", "domain_var": var,
                         "domain": dom, "n": 120, "weighted_base": 5000.0, "estimate": est,
                         "se": 0.03, "ci_low": est - 0.06, "ci_high": est + 0.06,
                         "deff": 1.4, "flag": "ok" if var != "sector*size_class" else "suppress",
                         "published": np.nan, "unweighted": est + 0.01})
    frame = pd.DataFrame(rows, columns=KEYRATE_COLUMNS)
    # Tabell 5.4: 295 of 993 printed as 29,7 %; 5.10 prints 66 % for 255/368 (= 69.3 %).
    frame.loc[(frame.rate == "trainee_now_rate") & (frame.domain == "all"),
              ["published", "unweighted"]] = [0.297, 295 / 993]
    frame.loc[(frame.rate == "hired_after_trainee_rate") & (frame.domain == "all"),
              ["published", "unweighted"]] = [0.66, 255 / 368]
    frame.loc[(frame.rate == "hired_after_trainee_rate") & (frame.domain == "public"),
              ["published", "unweighted"]] = [0.467, 28 / 60]
    return frame


def fake_page(lang="en", frame=None):
    frame = fake_keyrates() if frame is None else frame
    t = text(lang, SURVEY.text)
    shares = pd.DataFrame({"margin": ["sector", "sector"], "category": ["public", "private"],
                           "sample_n": [200, 800], "sample_share": [0.2, 0.8],
                           "register_total": [10000.0, 190000.0],
                           "register_share": [0.05, 0.95], "calibrated_share": [0.05, 0.95]})
    labels = {"trainee_now_rate": "Share of firms with trainee(s) now"}
    png = figs.to_png(figs.forest(frame, ["trainee_now_rate", "csr_reason_important"],
                                  labels, t, 0.95, SURVEY.forest_domains))
    return Page(lang=lang, level=0.95,
                keyrates=frame.assign(sens_low=frame.estimate - 0.01,
                                      sens_high=frame.estimate + 0.01),
                rate_labels=labels, margin_shares=shares, strata=None,
                weight_stats=[("w_min", "1.00"), ("n_eff", "512.3")],
                figures=[Figure("forest_trainees", "Work placements", png, "forest")],
                flag_rules={"suppress": "fewer than 30 respondents in the base"},
                settings=[("seed", "20170602")], margin_sources=[("sector", "SSB")],
                versions={"numpy": "2"}, version="0.1.0", generated="2026-01-01 00:00 UTC",
                survey_text=SURVEY.text)


def test_published_matches_uses_the_reports_double_rounding():
    assert published_matches(0.297, 295 / 993)
    assert published_matches(0.3, 295 / 993)            # printed without decimals
    assert published_matches(0.946, 52 / 55)            # 94.545 -> 94.55 -> 94.6
    assert not published_matches(0.945, 52 / 55)
    assert not published_matches(0.66, 255 / 368)       # 69.3 %
    assert not published_matches(np.nan, 0.5)


def test_every_key_rate_has_a_row_and_every_published_domain_too():
    frame = fake_keyrates()
    html = render(fake_page(frame=frame))
    for rate in frame.rate.unique():
        assert f"id='rate-{rate}--all--all'" in html
    assert "id='rate-hired_after_trainee_rate--sector--public'" in html
    # unpublished sector rows stay out of the reconciliation table
    assert "id='rate-trainee_now_rate--sector--public'" not in html


def test_differences_from_the_published_value_are_marked_and_explained():
    html = render(fake_page())
    row = re.search(r"<tr[^>]*id='rate-hired_after_trainee_rate--all--all'>(.*?)</tr>", html).group(1)
    assert "class='num diff'>69.29<" in row
    assert "Published 66 % is not what the printed counts give (69.29 %)" in row
    row = re.search(r"<tr[^>]*id='rate-trainee_now_rate--all--all'>(.*?)</tr>", html).group(1)
    assert "class='num ok'>29.71<" in row and ">29.7<" in row


def test_page_is_self_contained():
    html = render(fake_page())
    assert not re.search(r"""(src|href)=['"](?!data:|#)""", html)
    assert "<link" not in html and "<script" not in html
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    assert len(images) == 1
    assert base64.b64decode(images[0]).startswith(b"\x89PNG")


def test_norwegian_page_uses_norwegian_labels_and_decimal_comma():
    html = render(fake_page("no"))
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
    assert ticks == ["All firms", "Private", "Public", "1-4 employees", "5-19 employees",
                     "20-49 employees", "50+ employees"]
    # the weighted CI of the first row spans estimate +- 6 points
    est = frame[(frame.rate == "trainee_now_rate") & (frame.domain == "all")].estimate.iloc[0]
    lines = axes[0].collections[0].get_segments()
    assert np.allclose(lines[0][:, 0], [100 * est - 6, 100 * est + 6])
    figs.plt.close(fig)


def test_published_domains_sit_under_their_rate_and_sensitivity_is_shown():
    html = render(fake_page())
    ids = re.findall(r"<tr[^>]*id='rate-([^']+)'", html)
    assert ids == ["trainee_now_rate--all--all", "hired_after_trainee_rate--all--all",
                   "hired_after_trainee_rate--sector--public", "csr_reason_important--all--all"]
    row = re.search(r"id='rate-trainee_now_rate--all--all'>(.*?)</tr>", html).group(1)
    est = fake_keyrates().query("rate == 'trainee_now_rate' and domain == 'all'").estimate.iloc[0]
    assert f"{100 * est - 1:.1f} / {100 * est + 1:.1f}" in row


def test_sensitivity_intro_names_the_public_shares_or_says_why_not():
    page = fake_page()
    page.variant_shares = {"central": 0.13, "low": 0.11, "high": 0.16}
    assert "public share of establishments 11 % and 16 % instead of 13 %" in render(page)
    page.variant_shares = None
    assert "not computed: the margins were given with --margins" in render(page)
