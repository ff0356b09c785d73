"""The documentation site: the API reference covers every public name (each
documented once), and ``make docs`` — Sphinx with warnings as errors, the
guides executed — builds, so a broken reference or a failing guide fails
``make test``."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
import time

import pytest
from repo_paths import REPO

DOCS = REPO / "docs"
# docs/api/api_reference.py, loaded by path (docs/ is not a package).
_spec = importlib.util.spec_from_file_location("api_reference", DOCS / "api" / "api_reference.py")
reference = sys.modules["api_reference"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)

GUIDES = sorted(p.stem for p in (DOCS / "guides").glob("*.md"))
# Acceptance of issue 18: names the API pages must list.
KEY_NAMES = ("Design", "calibrate", "Margin", "svymean", "svyglm")


# -- the reference's machinery, on a small fake package ----------------------------------

FAKE = {
    "__init__.py": '"""A package."""\nfrom .core import Thing, make\nfrom .extra import helper\n',
    "core.py": '"""Core."""\nLIMIT = 3\n_HIDDEN = 1\n\n\nclass Thing:\n    """A thing."""\n\n\n'
    'def make():\n    """Make."""\n\n\ndef _private():\n    pass\n',
    "extra.py": '"""Extra."""\nfrom .core import Thing\n\n__all__ = ["helper", "Thing"]\n\n\n'
    'def helper():\n    """Help."""\n',
    "_private_mod.py": '"""Private."""\n\n\ndef secret():\n    pass\n',
    "sub/__init__.py": '"""Sub."""\n__all__ = ["core"]\n',
    "sub/core.py": '"""Sub core."""\n\n\ndef deep():\n    """Deep."""\n',
}


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    for name, text in FAKE.items():
        path = tmp_path / "fakepkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fakepkg"
    for name in [m for m in sys.modules if m == "fakepkg" or m.startswith("fakepkg.")]:
        del sys.modules[name]


def test_each_object_is_documented_once_at_its_defining_module(fake_package):
    pages = {p.name: p for p in reference.collect((fake_package,))}
    assert list(pages) == [
        "fakepkg",
        "fakepkg.core",
        "fakepkg.extra",
        "fakepkg.sub",
        "fakepkg.sub.core",
    ]  # private modules left out
    # Re-exports link to the defining module's page.
    assert pages["fakepkg"].own == []
    assert pages["fakepkg"].linked == [
        "fakepkg.extra.helper",
        "fakepkg.core.make",
        "fakepkg.core.Thing",
    ]  # by name
    # A module without __all__: its own functions and classes, then its
    # upper-case constants; nothing private, nothing imported.
    assert pages["fakepkg.core"].own == ["make", "Thing", "LIMIT"]
    # __all__ is followed, imported names included (linked to their home).
    assert pages["fakepkg.extra"].own == ["helper"]
    assert pages["fakepkg.extra"].linked == ["fakepkg.core.Thing"]
    # A name in __all__ that is a sub-module is a page of its own, not an entry.
    assert pages["fakepkg.sub"].own == [] and pages["fakepkg.sub"].children == ["fakepkg.sub.core"]
    assert pages["fakepkg"].children == ["fakepkg.core", "fakepkg.extra", "fakepkg.sub"]


def test_written_pages_follow_the_code_and_stale_ones_go(fake_package, tmp_path):
    out = tmp_path / "generated"
    (out / reference.OBJECTS).mkdir(parents=True)
    (out / "fakepkg.gone.rst").write_text("old")
    (out / reference.OBJECTS / "fakepkg.core.removed.rst").write_text("old")
    (out / reference.OBJECTS / "fakepkg.core.make.rst").write_text("stub")
    reference.write_reference(out, (fake_package,))
    assert sorted(p.name for p in out.glob("*.rst")) == [
        "fakepkg.core.rst",
        "fakepkg.extra.rst",
        "fakepkg.rst",
        "fakepkg.sub.core.rst",
        "fakepkg.sub.rst",
    ]
    assert [p.name for p in (out / reference.OBJECTS).glob("*.rst")] == ["fakepkg.core.make.rst"]
    core = (out / "fakepkg.core.rst").read_text()
    assert ".. automodule:: fakepkg.core" in core
    assert re.search(r":toctree: objects\n   :nosignatures:\n\n   make\n   Thing\n   LIMIT", core)
    package = (out / "fakepkg.rst").read_text()
    assert "   ~core.Thing" in package and "   ~extra.helper" in package
    assert ".. toctree::" in package and "   fakepkg.sub" in package


def test_the_reference_covers_the_key_names_at_their_homes():
    pages = {p.name: p for p in reference.collect()}
    homes = {
        "Design": "weighting.design",
        "calibrate": "weighting.calibrate",
        "Margin": "weighting.margins",
        "svymean": "estimators.inference.estimate",
        "svyglm": "estimators.model.glm",
    }
    for name, module in homes.items():
        assert name in pages[module].own, (name, module)
    assert "estimators.inference.estimate.svymean" in pages["estimators"].linked
    # Every public module of both packages has a page.
    for package in reference.PACKAGES:
        for module in reference._public_modules(package):
            assert module in pages
    assert not any(name.split(".")[-1].startswith("_") for name in pages)


def test_a_reference_by_a_re_export_path_resolves_to_the_defining_module():
    assert (
        reference._import("estimators.svymean")
        is importlib.import_module("estimators.inference.estimate").svymean
    )
    assert reference._import("weighting.Margin").__module__ == "weighting.margins"
    assert reference._import("estimators.no_such_name") is None


# -- the build ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """``make docs`` on a copy of docs/ (two test runs must not share the
    generated pages), returning the HTML folder."""
    root = tmp_path_factory.mktemp("docs")
    source = root / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build", "generated"))
    shutil.copy2(REPO / "CHANGELOG.md", root / "CHANGELOG.md")  # docs/changelog.md includes it
    html = root / "html"
    start = time.perf_counter()
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-b",
            "html",
            "-q",
            "-j",
            "2",
            str(source),
            str(html),
        ],
        capture_output=True,
        text=True,
        cwd=root,
    )
    elapsed = time.perf_counter() - start
    assert build.returncode == 0, (build.stdout + build.stderr)[-6000:]
    print(f"docs built in {elapsed:.0f} s")
    return html


@pytest.mark.slow
def test_docs_build_with_no_warning_and_list_the_key_names(site):
    api = (site / "api" / "index.html").read_text()
    for name in KEY_NAMES:
        assert re.search(rf">(?:[\w.]+\.)?{name}</span>", api), name
    objects = site / "api" / "generated" / "objects"
    for page in (
        "weighting.design.Design",
        "weighting.calibrate.calibrate",
        "weighting.margins.Margin",
        "estimators.inference.estimate.svymean",
        "estimators.model.glm.svyglm",
    ):
        assert (objects / f"{page}.html").exists(), page
    for page in ("cli", "architecture", "data", "scale", "changelog"):
        assert (site / f"{page}.html").exists(), page


@pytest.mark.slow
@pytest.mark.parametrize("guide", GUIDES)
def test_each_guide_page_shows_its_executed_output(site, guide):
    page = (site / "guides" / f"{guide}.html").read_text()
    assert "cell_output" in page  # outputs were rendered
    assert "Traceback" not in page  # no cell failed quietly
    if guide in ("cati_to_keyrates", "models"):  # the guides that draw figures
        images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
        assert images and all((site / "guides" / src).resolve().exists() for src in images)
    if guide in ("cati_to_keyrates", "models", "vendored_weighting"):
        assert 'class="kalib"' in page  # results shown by their _repr_html_
