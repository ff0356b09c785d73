"""Register margins, the NACE collapsing rule, design weights and JSON-stat."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from repo_paths import REFERENCE

from estimators.io.jsonstat import DIVISIONS, JsonStatError, read_07091, read_jsonstat
from estimators.surveys.employers import (
    NACE_GROUPS,
    design_strata,
    load_cati,
    load_register_margins,
    register_margin_table,
)
from estimators.surveys.employers.registry import (
    MIN_RESPONDENTS,
    collapse_adjacent,
    margins_from_sections,
    read_register,
    section_size_counts,
)
from weighting.margins import Margin

# SSB JSON-stat samples copied from shared/register (real StatBank responses)
REGISTER = REFERENCE / "data"


def test_collapsed_groups_of_the_survey():
    assert {g: s for g, s in NACE_GROUPS.items() if len(s) > 1} == {
        "A-B": ["A", "B"],
        "D-E": ["D", "E"],
        "K-L": ["K", "L"],
        "S-T": ["S", "T"],
    }
    counts = load_cati()["nace_group"].value_counts()
    assert counts.min() >= MIN_RESPONDENTS
    assert counts["D-E"] == 20 and counts["S-T"] == 45


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=25), st.integers(1, 40))
def test_collapse_rule_properties(sizes, min_n):
    counts = {f"c{i:02d}": n for i, n in enumerate(sizes)}
    if sum(sizes) < min_n:
        with pytest.raises(ValueError):
            collapse_adjacent(counts, min_n)
        return
    groups = collapse_adjacent(counts, min_n)
    members = [c for g in groups.values() for c in g]
    assert members == list(counts)  # a partition, order kept
    assert all(sum(counts[c] for c in g) >= min_n for g in groups.values())
    for g in groups.values():  # groups are contiguous runs
        pos = [list(counts).index(c) for c in g]
        assert pos == list(range(pos[0], pos[0] + len(pos)))
    untouched = [c for c in counts if counts[c] >= min_n and [c] in groups.values()]
    assert len(groups) >= len(untouched)


@pytest.mark.parametrize(
    "variant, public", [("central", 0.13), ("low_public", 0.11), ("high_public", 0.16)]
)
def test_margin_variants(variant, public):
    margins = load_register_margins(variant)
    assert all(isinstance(m, Margin) for m in margins)
    assert [m.variables for m in margins] == [("size_class",), ("nace_group",), ("sector",)]
    table = register_margin_table(variant)
    totals = table.groupby("margin")["total"].sum()
    assert (totals == 200016).all()  # >= 1 employee, 1 Jan 2018
    size = table[table["margin"] == "size_class"].set_index("category")["total"]
    assert size.to_dict() == {"1-4": 98331, "5-19": 71419, "20-49": 20654, "50+": 9612}
    sector = table[table["margin"] == "sector"].set_index("category")["total"]
    assert abs(sector["public"] / 200016 - public) < 1e-4
    # the sample's categories and the margin's categories coincide
    df = load_cati()
    for m in margins:
        name = m.variables[0]
        assert set(table.loc[table["margin"] == name, "category"]) == set(df[name])


def test_sector_by_size_cross_margin():
    (cross,) = load_register_margins("high_public", margins=("sector*size_class",))
    assert cross.variables == ("sector", "size_class")
    assert sum(cross.table.values()) == 200016
    public = sum(v for k, v in cross.table.items() if k[0] == "public")
    assert public == round(0.16 * 200016)


def test_only_the_sector_margins_differ_between_variants():
    central, low = register_margin_table("central"), register_margin_table("low_public")
    same = central["margin"].isin(["size_class", "nace_group"])
    assert central.loc[same, "total"].tolist() == low.loc[same, "total"].tolist()
    assert central.loc[~same, "total"].tolist() != low.loc[~same, "total"].tolist()


def test_provenance_columns():
    table = register_margin_table()
    assert {"basis", "method", "source", "reference_date"} <= set(table.columns)
    assert set(table["reference_date"]) == {"2018-01-01"}
    basis = table.set_index(["margin", "category"])["basis"]
    assert basis[("size_class", "1-4")] == "verbatim"
    assert basis[("nace_group", "Q")] == "estimated" and basis[("sector", "public")] == "estimated"


def test_base_weights_are_register_count_over_sample_count():
    strata = design_strata()
    df = load_cati()
    n = df.groupby("stratum").size()
    for row in strata.itertuples():
        assert n[row.stratum] == row.sample_n
        assert row.base_weight == pytest.approx(row.register_count / row.sample_n, rel=1e-15)
    assert df["base_weight"].sum() == pytest.approx(200016)
    assert n.to_dict() == {
        "private:1-4": 240,
        "private:5-19": 240,
        "private:20-49": 160,
        "private:50+": 160,
        "public:1-4": 25,
        "public:5-19": 55,
        "public:20-49": 65,
        "public:50+": 55,
    }


def test_refresh_path_gives_the_bundled_margins():
    from estimators.surveys.employers import DATA

    register = read_register(DATA / "ssb_establishments_2018-01-01.csv")
    fresh = margins_from_sections(section_size_counts(register), 0.13)
    bundled = register_margin_table("central")
    for name in ("size_class", "nace_group", "sector"):
        cells = bundled[bundled["margin"] == name].set_index("category")["total"]
        assert fresh[name] == cells.to_dict()


def test_unknown_variant_is_a_clear_error():
    with pytest.raises(ValueError, match="low_public"):
        load_register_margins("pessimistic")


# ----------------------------------------------------------------- JSON-stat
def test_sample_with_status_symbols():
    long = read_jsonstat(f"{REGISTER}/jsonstat2_sample_table05300_with_status.json")
    assert len(long) == 6 * 8 * 1 * 9
    assert long["value"].isna().sum() == 28
    assert set(long.loc[long["value"].isna(), "status"]) == {".", ".."}
    assert long["value"].notna().sum() == 432 - 28


def test_sample_03024_row_major_order():
    doc = json.load(open(f"{REGISTER}/jsonstat2_sample_table03024.json", encoding="utf-8"))
    long = read_jsonstat(f"{REGISTER}/jsonstat2_sample_table03024.json")
    # last dimension varies fastest: row k of the long table is value[k]
    assert np.allclose(
        long["value"].fillna(-1), [v if v is not None else -1 for v in doc["value"]]
    )
    assert long.iloc[43]["VareGrupper2"] == "01" and long.iloc[43]["ContentsCode"] == "Kilopris"


def _synthetic_07091(path, with_gap=False, full=False):
    """A 07091-shaped file: 2-digit NACE, AntAnsatte codes in a shuffled order;
    a few divisions (a partial download), or with ``full`` every one."""
    nace = ([f"{d:02d}" for d in DIVISIONS] if full else ["01", "02", "10", "47", "84", "85"]) + [
        "00"
    ]
    sizes = {
        "05": "50-99 ansatte",
        "00": "Ingen ansatte",
        "01": "1-4 ansatte",
        "02": "5-9 ansatte",
        "03": "10-19 ansatte",
        "04": "20-49 ansatte",
        "15": "100-249 ansatte",
        "16": "250 ansatte og over",
    }
    rng = np.random.default_rng(1)
    values = rng.integers(0, 500, size=len(nace) * len(sizes) * 2).tolist()
    status = {}
    if with_gap:
        values[4] = None  # NACE 01, "1-4 ansatte", 2017 (row-major position)
        status["4"] = ".."
    doc = {
        "version": "2.0",
        "class": "dataset",
        "label": "07091",
        "id": ["Region", "NACE2007", "AntAnsatte", "ContentsCode", "Tid"],
        "size": [1, len(nace), len(sizes), 1, 2],
        "dimension": {
            "Region": {"category": {"index": {"0": 0}, "label": {"0": "Hele landet"}}},
            "NACE2007": {"category": {"index": {c: i for i, c in enumerate(nace)}}},
            "AntAnsatte": {
                "category": {"index": {c: i for i, c in enumerate(sizes)}, "label": sizes}
            },
            "ContentsCode": {"category": {"index": {"Bedrifter": 0}}},
            "Tid": {"category": {"index": {"2017": 0, "2018": 1}}},
        },
        "value": values,
        "status": status,
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return nace, list(sizes.values()), np.array(values, dtype=object)


def test_synthetic_07091_aggregates_sections_and_sizes_by_label(tmp_path):
    path = tmp_path / "07091.json"
    nace, labels, values = _synthetic_07091(path)
    table = read_07091(path, year="2018", complete=False)  # a partial download, knowingly
    cube = values.reshape(len(nace), len(labels), 2)[:, :, 1].astype(int)
    col = {lab: k for k, lab in enumerate(labels)}
    a_1_4 = cube[0, col["1-4 ansatte"]] + cube[1, col["1-4 ansatte"]]  # 01 + 02 -> A
    assert table.loc["A", "1-4"] == a_1_4
    g_50 = sum(
        cube[3, col[c]] for c in ("50-99 ansatte", "100-249 ansatte", "250 ansatte og over")
    )
    assert table.loc["G", "50+"] == g_50
    assert table.loc["C", "5-19"] == cube[2, col["5-9 ansatte"]] + cube[2, col["10-19 ansatte"]]
    assert set(table.index) == {"A", "C", "G", "O", "P", "X"}  # "00" = unknown industry
    margins = margins_from_sections(table, 0.13)
    total = int(table.to_numpy().sum())
    assert sum(margins["nace_group"].values()) == total  # X allocated, nothing lost
    assert margins["nace_group"]["G"] >= table.loc["G"].sum()
    assert margins["sector"]["public"] == round(0.13 * total)
    assert list(table.columns) == ["1-4", "5-19", "20-49", "50+"]


def test_07091_status_gap_is_an_error_naming_the_cell(tmp_path):
    path = tmp_path / "gap.json"
    _synthetic_07091(path, with_gap=True)
    with pytest.raises(JsonStatError, match=r"NACE 01 \(A\).*'1-4 ansatte'.*'\.\.'"):
        read_07091(path, year="2017", complete=False)


@pytest.mark.parametrize(
    "content",
    [
        '{"version": "2.0", "class": "dataset", "id": ["a"]}',
        "{not json",
        '{"class": "collection"}',
        '{"version": "2.0", "class": "dataset", "id": ["a"], '
        '"size": [2], "dimension": {"a": {"category": '
        '{"index": {"x": 0, "y": 1}}}}, "value": [1]}',
    ],
)
def test_malformed_jsonstat_one_line_error(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(JsonStatError) as info:
        read_jsonstat(path)
    assert "bad.json" in str(info.value) and "\n" not in str(info.value)


# ----------------------------------------------------------------- with the engine
@pytest.mark.parametrize("variant", ["central", "low_public", "high_public"])
def test_default_margins_calibrate_the_bundled_survey(variant):
    from weighting.calibrate import calibrate

    df = load_cati()
    margins = load_register_margins(variant)
    result = calibrate(df, margins, base_weights=df["base_weight"].to_numpy())
    assert result.converged
    w = np.asarray(result.weights)
    for m in margins:
        name = m.variables[0]
        table = register_margin_table(variant)
        target = table[table["margin"] == name].set_index("category")["total"]
        achieved = pd.Series(w).groupby(df[name].to_numpy()).sum()
        assert np.allclose(achieved[target.index], target, rtol=1e-9)


def test_no_bootstrap_replicate_loses_a_calibration_category():
    from weighting._backend import use_kernels
    from weighting.design import Design

    df = load_cati()
    design = Design(df, weights=df["base_weight"].to_numpy(), strata=df["stratum"].to_numpy())
    with use_kernels(False):  # the numpy path draws the same replicates as the kernel
        reps = design.calibrate(load_register_margins()).with_replicates(
            "bootstrap", replicates=100, seed=20170602
        )
        weights = reps.replicate_weights()
    for var in ("size_class", "nace_group", "sector"):
        for cat in df[var].unique():
            assert (weights[df[var].to_numpy() == cat] > 0).any(axis=0).all(), (var, cat)


def test_cli_writes_margins_the_rake_command_reads(tmp_path, capsys):
    from estimators.cli import main
    from estimators.io.files import read_margins

    assert main(["data", "margins", "--out", str(tmp_path), "--variant", "low_public"]) == 0
    expected = {m.variables: m for m in load_register_margins("low_public")}
    for name in ("size_class", "nace_group", "sector"):
        margin = read_margins(tmp_path / f"{name}.csv")
        assert margin.variables == (name,)
        assert margin.table == expected[(name,)].table
    assert main(["data", "margins", "--out", str(tmp_path)]) == 2  # exists, no --force
    assert "--force" in capsys.readouterr().err


def test_cli_margins_from_a_07091_download(tmp_path, capsys):
    from estimators.cli import main

    download = tmp_path / "07091.json"
    _synthetic_07091(download, full=True)
    out = tmp_path / "m"
    out.mkdir()
    assert (
        main(
            ["data", "margins", "--out", str(out), "--from-07091", str(download), "--year", "2018"]
        )
        == 0
    )
    size = pd.read_csv(out / "size_class.csv")
    assert size["total"].sum() == read_07091(download, year="2018").to_numpy().sum()
    assert (
        main(
            [
                "data",
                "margins",
                "--out",
                str(out),
                "--force",
                "--from-07091",
                f"{REGISTER}/jsonstat2_sample_table03024.json",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "03024" in err[0] and "NACE2007" in err[0]
