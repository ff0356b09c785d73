"""Packaging: one version source, extras that keep the engine light, and a
wheel that installs into a fresh virtualenv and runs ``kalib report``."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from repo_paths import REPO

from estimators._version import __version__

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# The distributions each extra brings, by the import names the code uses.
EXTRA_IMPORTS = {
    "report": {"matplotlib", "xarray", "netCDF4", "tqdm"},
    "scale": {"dask", "distributed", "xarray"},
}
OPTIONAL = set().union(*EXTRA_IMPORTS.values())


def _requirement_names(requirements) -> set[str]:
    names = set()
    for req in requirements:
        name = req.split(";")[0].split("[")[0]
        for op in "<>=!~ ":
            name = name.split(op)[0]
        names.add(name.strip().lower())
    return names


# -- metadata ------------------------------------------------------------------------


def test_the_version_is_written_once_and_the_metadata_reads_it():
    project = PYPROJECT["project"]
    assert "version" in project["dynamic"] and "version" not in project
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "estimators._version.__version__"
    assert "version=" not in (REPO / "setup.py").read_text()
    # The installed metadata is built from it (make setup re-installs when
    # pyproject.toml changes; a stale install fails here).
    assert metadata.version("kalib") == __version__


def test_kalib_version_prints_the_version(capsys):
    from estimators.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"kalib {__version__}"


def test_changelog_has_a_section_for_the_version():
    changelog = (REPO / "CHANGELOG.md").read_text()
    released = __version__.split(".dev")[0]
    assert f"## {released}" in changelog


def test_licence_is_bsd_3_clause_and_shipped():
    assert PYPROJECT["project"]["license"] == "BSD-3-Clause"
    assert "Redistribution and use in source and binary forms" in (REPO / "LICENSE").read_text()
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_the_engine_does_not_require_the_report_or_dask_stack():
    core = _requirement_names(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert not core & {"matplotlib", "xarray", "netcdf4", "tqdm", "dask", "distributed"}
    assert {
        "numpy",
        "scipy",
        "pandas",
        "patsy",
        "pyarrow",
        "pyreadstat",
        "threadpoolctl",
    } <= core
    # statsmodels checks the model fits in the tests; no engine code imports it.
    assert "statsmodels" not in core and "statsmodels" in _requirement_names(extras["test"])
    for extra, imports in EXTRA_IMPORTS.items():
        names = _requirement_names(extras[extra])
        assert {i.lower() for i in imports} - {"distributed"} <= names, extra
    # `all` is every other extra; make setup installs it.
    (everything,) = extras["all"]
    assert everything.startswith("kalib[") and everything.endswith("]")
    assert set(everything[6:-1].split(",")) == set(extras) - {"all"}
    assert "-e '.[all]'" in (REPO / "Makefile").read_text()


# -- optional extras are imported only where they are used ------------------------------


def _module_level_imports(path: Path) -> set[str]:
    """Top-level package names imported when the module is imported (not
    inside functions)."""
    names = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                visit(node.body)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
                visit(getattr(node, "orelse", []))
                visit(getattr(node, "finalbody", []))

    visit(ast.parse(path.read_text()).body)
    return names


def test_optional_packages_are_imported_at_module_level_only_by_their_extras_modules():
    allowed = ("estimators/report/", "estimators/scale/")
    offenders = []
    for path in sorted((REPO / "estimators").rglob("*.py")) + sorted(
        (REPO / "weighting").rglob("*.py")
    ):
        rel = path.relative_to(REPO).as_posix()
        used = _module_level_imports(path) & OPTIONAL
        if used and not rel.startswith(allowed):
            offenders.append(f"{rel}: {', '.join(sorted(used))}")
    assert not offenders, "module-level imports of an optional extra:\n" + "\n".join(offenders)


BLOCKER = """
import importlib.abc, sys
BLOCK = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCK:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
sys.meta_path.insert(0, Block())
exec(sys.argv[2])
"""


def _without_extras(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER, ",".join(sorted(OPTIONAL)), code],
        capture_output=True,
        text=True,
        cwd=REPO,
    )


def test_the_engine_runs_without_the_report_and_scale_extras():
    code = """
import numpy as np
from estimators import load_cati, load_register_margins, svyglm, svyprop
from weighting.design import Design
design = (Design(load_cati(), weights="base_weight", strata="stratum")
          .calibrate(load_register_margins("central"))
          .with_replicates("bootstrap", replicates=20, seed=1))
print(svyprop(design, "trainee_now", "yes").frame["estimate"].iloc[0])
print(svyglm("I(trainee_now == 'yes') ~ sector", design, family="binomial").params[1])
"""
    run = _without_extras(code)
    assert run.returncode == 0, run.stderr[-2000:]
    assert 0 < float(run.stdout.split()[0]) < 1


def test_the_command_line_parses_without_the_report_and_scale_extras():
    run = _without_extras("from estimators.cli import build_parser; build_parser()")
    assert run.returncode == 0, run.stderr[-2000:]


# -- the wheel -------------------------------------------------------------------------


def _tracked_package_data() -> list[str]:
    files = subprocess.run(
        ["git", "ls-files", "estimators", "weighting", "cext"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stdout.split()
    return [f for f in files if not f.endswith((".py", ".c")) and (REPO / f).exists()]


@pytest.mark.slow
def test_a_wheel_installs_in_a_fresh_virtualenv_and_runs_kalib_report(tmp_path):
    # Built from a copy of the files git sees (tracked or not ignored), as a
    # fresh clone would: pip builds in place, and a stale build/ of the work
    # tree could add files a clone's wheel would not have.
    source = tmp_path / "source"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(wheels), "-q"],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("kalib-*.whl")
    assert wheel.name.startswith(f"kalib-{__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in _tracked_package_data() if f not in names]
    assert not missing, f"tracked data files not in the wheel: {missing}"
    assert any(n.startswith("cext/_replicate.") and n.endswith((".so", ".pyd")) for n in names)
    assert not any(n.endswith(".c") for n in names)
    assert f"kalib-{__version__}.dist-info/licenses/LICENSE" in names

    # A fresh virtualenv that sees this environment's dependencies (a .pth
    # line, as --system-site-packages would, without re-downloading them) but
    # gets kalib only from the wheel: .pth files of the added directory (this
    # environment's editable install) are not processed.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "_kalib_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run(
        [
            python,
            "-c",
            "import cext, estimators, weighting; from importlib import metadata; "
            "print(estimators.__file__, weighting.__file__, cext.__file__, "
            "metadata.version('kalib'))",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=True,
    ).stdout.split()
    for path in where[:3]:
        assert Path(path).resolve().is_relative_to(venv.resolve()), path
    assert where[3] == __version__

    kalib = venv / "bin" / "kalib"
    version = subprocess.run(
        [kalib, "--version"], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert version.stdout.strip() == f"kalib {__version__}", version.stderr[-2000:]
    out = tmp_path / "report"
    report = subprocess.run(
        [kalib, "report", "--out", str(out), "--replicates", "100", "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    run = json.loads((out / "run.json").read_text())
    assert run["versions"]["kalib"] == __version__
    assert run["versions"]["kernels"] == "cext"  # the compiled kernels came with it
    assert (out / "index.html").stat().st_size > 10_000

    # The same numbers as the source tree's own run.
    here = tmp_path / "here"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "estimators.cli",
            "report",
            "--out",
            str(here),
            "--replicates",
            "100",
            "--quiet",
        ],
        check=True,
        cwd=REPO,
    )
    assert (out / "keyrates.csv").read_bytes() == (here / "keyrates.csv").read_bytes()
