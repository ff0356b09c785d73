"""SSB 07091 downloads (issue 17): nothing summed that should not be, nothing
missing written as 0 — each a named error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from estimators.io.jsonstat import (
    DIVISIONS,
    JsonStatError,
    nace_to_section,
    read_07091,
    read_jsonstat,
)

SIZES = {
    "00": "Ingen ansatte",
    "01": "1-4 ansatte",
    "02": "5-9 ansatte",
    "03": "10-19 ansatte",
    "04": "20-49 ansatte",
    "05": "50-99 ansatte",
    "15": "100-249 ansatte",
    "16": "250 ansatte og over",
}


def _download(path, nace=None, sizes=SIZES, contents=("Bedrifter",), value=None):
    """A 07091 download: every division by default, counts 1, 2, 3, ..."""
    nace = [f"{d:02d}" for d in DIVISIONS] if nace is None else nace
    cells = len(nace) * len(sizes) * len(contents)
    values = list(range(1, cells + 1)) if value is None else value(cells)
    doc = {
        "version": "2.0",
        "class": "dataset",
        "label": "07091",
        "id": ["Region", "NACE2007", "AntAnsatte", "ContentsCode", "Tid"],
        "size": [1, len(nace), len(sizes), len(contents), 1],
        "dimension": {
            "Region": {"category": {"index": {"0": 0}, "label": {"0": "Hele landet"}}},
            "NACE2007": {"category": {"index": {c: i for i, c in enumerate(nace)}}},
            "AntAnsatte": {
                "category": {"index": {c: i for i, c in enumerate(sizes)}, "label": sizes}
            },
            "ContentsCode": {
                "category": {
                    "index": {c: i for i, c in enumerate(contents)},
                    "label": {c: c.lower() for c in contents},
                }
            },
            "Tid": {"category": {"index": {"2018": 0}}},
        },
        "value": values,
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_a_complete_download_is_read(tmp_path):
    table = read_07091(_download(tmp_path / "d.json"))
    assert list(table.columns) == ["1-4", "5-19", "20-49", "50+"]
    assert set(table.index) == set("ABCDEFGHIJKLMNOPQRSTU")
    # every cell once: the total of all counts with >= 1 employee
    long = read_jsonstat(tmp_path / "d.json")
    assert table.to_numpy().sum() == long.loc[long["AntAnsatte"] != "00", "value"].sum()


def test_two_contents_are_an_error_or_a_choice(tmp_path):
    # contents vary fastest (before the one year): establishments 1, 2, 3, ...
    # interleaved with employee counts of a million each
    path = _download(
        tmp_path / "d.json",
        contents=("Bedrifter", "Sysselsatte"),
        value=lambda n: [k // 2 + 1 if k % 2 == 0 else 10**6 for k in range(n)],
    )
    with pytest.raises(
        JsonStatError,
        match=r"ContentsCode has 2 values \(Bedrifter "
        r"\(bedrifter\), Sysselsatte \(sysselsatte\)\), "
        r"which cannot be added up; choose one with "
        r"--contents",
    ):
        read_07091(path)
    chosen = read_07091(path, contents="Bedrifter")
    assert chosen.equals(read_07091(_download(tmp_path / "one.json")))
    with pytest.raises(JsonStatError, match="no ContentsCode 'Personer'"):
        read_07091(path, contents="Personer")


@pytest.mark.parametrize("bad, shown", [(-40, "count -40"), (1.5, "count 1.5")])
def test_negative_or_fractional_counts(tmp_path, bad, shown):
    def values(n):
        out = list(range(1, n + 1))
        out[9] = bad  # NACE 02 (the second), AntAnsatte 01 (the second)
        return out

    with pytest.raises(
        JsonStatError, match=rf"NACE 02, size '1-4 ansatte': {shown} is not a whole number"
    ):
        read_07091(_download(tmp_path / "d.json", value=values))


def test_a_partial_download_names_what_is_missing(tmp_path):
    nace = [f"{d:02d}" for d in DIVISIONS if not 45 <= d <= 47]  # section G left out
    with pytest.raises(
        JsonStatError,
        match=r"partial download: NACE division\(s\) 45, 46, 47 "
        r"\(section\(s\) G\) are missing",
    ):
        read_07091(_download(tmp_path / "d.json", nace=nace))
    sizes = {k: v for k, v in SIZES.items() if k != "03"}  # 10-19 left out
    with pytest.raises(JsonStatError, match="leave out employee counts between 9 and 20"):
        read_07091(_download(tmp_path / "s.json", sizes=sizes))
    sizes = {k: v for k, v in SIZES.items() if k != "16"}  # 250+ left out
    with pytest.raises(JsonStatError, match="no size class covers more than 249 employees"):
        read_07091(_download(tmp_path / "t.json", sizes=sizes))


def test_an_aggregate_beside_its_parts(tmp_path):
    nace = [f"{d:02d}" for d in DIVISIONS] + ["10-33"]
    with pytest.raises(JsonStatError, match=r"NACE 10 and 10-33 both cover division 10"):
        read_07091(_download(tmp_path / "d.json", nace=nace))
    sizes = {**SIZES, "99": "50 ansatte og over"}
    with pytest.raises(JsonStatError, match="size classes overlap"):
        read_07091(_download(tmp_path / "s.json", sizes=sizes))


def test_sections_and_ranges_cover_their_divisions(tmp_path):
    nace = ["A", "05-09", *[f"{d:02d}" for d in DIVISIONS if d >= 10]]
    table = read_07091(_download(tmp_path / "d.json", nace=nace))
    assert {"A", "B", "C"} <= set(table.index)


def test_a_range_across_sections_names_them_plainly():
    with pytest.raises(JsonStatError, match=r"^NACE code '01-05' spans several sections: A, B$"):
        nace_to_section("01-05")


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda d: d["dimension"]["NACE2007"]["category"]["index"].update({"01": -1}),
            "category '01' has position -1",
        ),
        (lambda d: d.update(value=d["value"][:-1]), "values but the dimension sizes give"),
        (lambda d: d["value"].__setitem__(3, "12"), 'value 3 is "12", not a number or null'),
        (lambda d: d["value"].__setitem__(3, True), "value 3 is true, not a number or null"),
        (lambda d: d.update(size=[1, 10**6, 10**3, 1, 1]), "more than 10000000"),
        (lambda d: d.update(status=[".", ".."]), "2 status symbols for"),
    ],
)
def test_malformed_cubes_name_the_file_and_the_cause(tmp_path, edit, message):
    path = _download(tmp_path / "d.json")
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(JsonStatError) as info:
        read_jsonstat(path)
    assert message in str(info.value) and "d.json" in str(info.value)


def test_sparse_values_and_one_status_for_all(tmp_path):
    path = _download(tmp_path / "d.json")
    doc = json.loads(path.read_text())
    doc["value"] = {"0": 5, "7": 3}
    doc["status"] = ".."
    path.write_text(json.dumps(doc))
    long = read_jsonstat(path)
    assert long["value"].iloc[0] == 5 and np.isnan(long["value"].iloc[1])
    assert (long["status"] == "..").all()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"contents": ("Bedrifter", "Sysselsatte")}, "choose one with --contents"),
        ({"nace": [f"{d:02d}" for d in DIVISIONS if d != 86]}, "partial download"),
        ({"value": lambda n: [-40] + list(range(2, n + 1))}, "count -40 is not a whole number"),
        ({"value": lambda n: [1.5] * n}, "count 1.5 is not a whole number"),
    ],
)
def test_kalib_data_margins_refuses_and_writes_nothing(tmp_path, capsys, options, message):
    from estimators.cli import main

    download = _download(tmp_path / "07091.json", **options)
    out = tmp_path / "m"
    out.mkdir()
    code = main(["data", "margins", "--out", str(out), "--from-07091", str(download)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err and "07091.json" in err
    assert list(out.iterdir()) == []


def test_kalib_data_margins_with_a_chosen_contents(tmp_path, capsys):
    from estimators.cli import main

    download = _download(tmp_path / "07091.json", contents=("Bedrifter", "Sysselsatte"))
    out = tmp_path / "m"
    out.mkdir()
    assert (
        main(
            [
                "data",
                "margins",
                "--out",
                str(out),
                "--from-07091",
                str(download),
                "--contents",
                "Bedrifter",
            ]
        )
        == 0
    )
    sizes = pd.read_csv(out / "size_class.csv")
    table = read_07091(download, contents="Bedrifter")
    assert sizes["total"].sum() == table.to_numpy().sum()
    assert sorted(p.name for p in out.iterdir()) == [
        "nace_group.csv",
        "sector.csv",
        "size_class.csv",
    ]
