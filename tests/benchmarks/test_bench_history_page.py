"""The trend page (benchmarks/history_page.py): one plot per benchmark, the
alarm marked where the rule fired, the peers' latest ratios beside."""

import json
import re
import sys

from hypothesis import given
from hypothesis import strategies as st
from repo_paths import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

import history_page
from history import Record

RAKE, JKN = "bench_calibrate.py::test_rake[1e3]", "bench_jkn.py::test_jkn_reraked[1e5]"


def rows(name, medians, machine="AMD EPYC; 2 cores; Python 3.11.7; numpy 2.4.6", load=None):
    return [
        Record(
            f"2026-01-01T{i:02d}:00:00Z",
            f"c{i:06d}",
            machine,
            "1e3,1e5",
            True,
            load,
            name,
            m,
            m / 50,
            100,
        )
        for i, m in enumerate(medians)
    ]


def figures(page: str) -> dict[str, str]:
    """``{param label: its figure's HTML}`` (the figures of different tests
    share labels, so the tests here use one benchmark per label)."""
    return {
        m[1]: m[0]
        for m in re.finditer(r"<figure><figcaption><b>\[([^\]]*)\]</b>.*?</figure>", page)
    }


def peer_run(stamp, commit, sizes):
    row = {
        "kalib": {"seconds": 0.002},
        "R survey": {"seconds": 0.0107},
        "svy": {"capped": True},
        "balance": {"unsupported": "no replicate weights"},
    }
    return {
        "datetime": stamp,
        "commit": commit,
        "cap_seconds": 120.0,
        "results": {"rake": {size: row for size in sizes}},
    }


def test_one_plot_per_benchmark_and_the_alarm_only_where_it_fired(tmp_path):
    records = rows(RAKE, [1e-3] * 6 + [2e-3]) + rows(JKN, [0.08] * 7, load=3.5)
    page = history_page.render(records, {})
    assert page.count("<svg") == 2
    rake, jkn = figures(page)["1e3"], figures(page)["1e5"]
    assert history_page.ALARM_COLOUR in rake and "SLOWER (2.00x baseline)" in rake
    assert history_page.ALARM_COLOUR not in jkn and "ok (1.00x baseline)" in jkn
    # Units follow the benchmark's speed; a run on a shared machine (load 3.5
    # on 2 cores) has an open marker.
    assert "median (ms, log)" in rake and "median (ms, log)" in jkn
    assert jkn.count('fill="#fff"') == 7 and rake.count('fill="#fff"') == 0
    assert "c000006 2026-01-01 06:00 — median 2 ms" in rake  # the point's tooltip
    assert page == history_page.render(records, {})  # the same bytes for the same history


def test_the_page_shows_the_latest_runs_only(tmp_path):
    page = history_page.render(rows(RAKE, [1e-3] * 7), {}, last=3)
    assert "7 runs of <code>make bench</code>" in page and "(3 shown)" in page
    assert page.count("<circle") == 3


def test_peers_ratios_from_the_latest_peer_run_of_each_size(tmp_path):
    (tmp_path / "peers-20261127T190000-aaaaaaa.json").write_text(
        json.dumps(peer_run("20261127T190000", "aaaaaaa", ["1e3", "1e5"]))
    )
    (tmp_path / "peers-20261128T190000-bbbbbbb.json").write_text(
        json.dumps(peer_run("20261128T190000", "bbbbbbb", ["1e5"]))
    )
    peers = history_page.latest_peers(tmp_path)
    assert peers["rake", "1e3"]["commit"] == "aaaaaaa"
    assert peers["rake", "1e5"]["commit"] == "bbbbbbb"
    text = history_page.peer_text(RAKE, peers)
    assert "n = 1e3, their time ÷ kalib's 2 ms (peer run of 2026-11-27 at aaaaaaa)" in text
    assert "R survey 5.35x, svy &gt; 60000x, balance cannot" in text
    assert history_page.peer_text(JKN, peers) == ""  # no peer times the jackknife
    page = history_page.render(rows(RAKE, [1e-3] * 2), peers)
    assert 'class="peers"' in figures(page)["1e3"]


@given(st.floats(1e-8, 1e3), st.floats(1.7, 1e5))
def test_log_ticks_lie_in_the_range_and_are_at_least_two(lo, ratio):
    ticks = history_page.log_ticks(lo, lo * ratio)
    assert len(ticks) >= 2 and ticks == sorted(ticks)
    assert all(lo <= t <= lo * ratio for t in ticks)
