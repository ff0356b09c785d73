"""SSB 07091 counts that no float holds exactly (engineer H4's pass): refused,
naming the cell, never summed into a margin."""

import re

import pytest
from test_io_jsonstat_07091 import _download

from estimators.cli import main
from estimators.io.jsonstat import JsonStatError, read_07091


@pytest.mark.parametrize(
    "bad, shown",
    [(1e20, "count 1e+20 is too large"), (float("inf"), "count inf is too large")],
)
def test_a_count_too_large_is_refused(tmp_path, bad, shown):
    # was: 1e20 wrapped around in int64 to the margin -9223372036854745038
    # (written by kalib data margins, exit 0); JSON's Infinity a pandas traceback
    def values(n):
        out = list(range(1, n + 1))
        out[9] = bad  # NACE 02 (the second), AntAnsatte 01 (the second)
        return out

    with pytest.raises(JsonStatError, match=re.escape(f"NACE 02, size '1-4 ansatte': {shown}")):
        read_07091(_download(tmp_path / "d.json", value=values))


def test_kalib_data_margins_writes_nothing_of_a_huge_count(tmp_path, capsys):
    download = _download(tmp_path / "07091.json", value=lambda n: [1e20] * n)
    out = tmp_path / "margins"
    out.mkdir()
    code = main(["data", "margins", "--out", str(out), "--from-07091", str(download)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "too large" in err, err
    assert list(out.iterdir()) == []
