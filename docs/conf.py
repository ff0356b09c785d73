"""Sphinx configuration of kalib's documentation (``make docs``).

The API reference is written from the packages at build time
(``docs/api/api_reference.py``); the guides in ``guides/`` are MyST Markdown
notebooks that myst-nb executes during every build (any cell error fails
the build).
``make docs`` runs Sphinx with ``-W --keep-going``: every warning is an error.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "api"))

from api_reference import resolve_alias, write_reference  # noqa: E402
from sphinx.ext import autosummary  # noqa: E402

from estimators._version import __version__  # noqa: E402

project = "kalib"
author = "the kalib developers"
copyright = "2026, the kalib developers"
release = __version__
version = ".".join(__version__.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    # MathJax is not bundled: the pages load it from Sphinx's default CDN when
    # they are opened (the build itself needs no network); docs/index.md says so.
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

# -- sources -----------------------------------------------------------------
# myst-nb reads plain .md (docs/*.md) as MyST pages and .md files with a
# jupytext header (guides/) as notebooks.
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
templates_path = ["api/_templates"]

# -- API reference -------------------------------------------------------------
_pages = write_reference(HERE / "api" / "generated")
# The pages just written, named explicitly: with `True`, autosummary would scan
# only the documents an incremental build already knew, and miss new modules.
autosummary_generate = ["api/index.rst"] + [f"api/generated/{p.name}.rst" for p in _pages]
autosummary_imported_members = False
autosummary_ignore_module_all = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # signatures stay readable; types are in the docstrings
autoclass_content = "class"
# numpydoc renders the sections; member tables come from the class template.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# References between project objects are checked (a renamed function fails
# the build); names outside the project (numpy, pandas, builtins) are not,
# since the build has no network for intersphinx inventories.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!(weighting|estimators|cext)\.).*"),
    # Private modules and names are not in the reference; docstrings may
    # still point a maintainer to them.
    (r"py:.*", r"(weighting|estimators|cext)(\.\w+)*\._\w*(\.\w+)*"),
]

# -- MyST and notebooks --------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# Every build executes the guides: a cache keyed on the notebook's text would
# keep showing outputs of an older library.
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"kalib {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
    "secondary_sidebar_items": ["page-toc"],
}
# The left sidebar navigates within a section: only the API reference has one.
html_sidebars = {
    name: [] for name in ("index", "guides/*", "cli", "architecture", "data", "scale", "changelog")
}
html_static_path = ["_static"]
html_css_files = ["kalib.css"]
html_show_sourcelink = False


def _plain_text_docstrings(app, what, name, obj, options, lines):
    """Docstrings that are not reStructuredText, shown as they are written."""
    if what == "module" and name.startswith("estimators.cli.") and len(lines) > 1:
        # A subcommand's module docstring is its `--help` description (argparse
        # prints it verbatim), usage lines included: keep the first line as
        # the summary and the rest as a literal block.
        lines[:] = lines[:1] + ["", "::", ""] + [f"    {line}" for line in lines[1:]]
    elif (
        what == "data"
        and lines
        and getattr(obj, "__doc__", None)
        and lines[0].strip() == obj.__doc__.strip().splitlines()[0].strip()
    ):
        # A constant without a `#:` comment: autodoc falls back to the
        # docstring the value carries, its type's (numpy.ndarray's, dict's),
        # which says nothing about the constant.
        lines.clear()


def _whole_literals(extract):
    """autosummary's one-line summaries end at the first ". ", even inside an
    inline literal (``rep_1 ... rep_B``), which then never closes: take the
    whole first paragraph when the sentence cuts a literal."""

    def summary(doc, document):
        text = extract(doc, document)
        if text.count("``") % 2:
            paragraph = []
            for line in doc:
                if not line.strip() and paragraph:
                    break
                paragraph.append(line.strip())
            text = " ".join(p for p in paragraph if p)
        return text

    return summary


autosummary.extract_summary = _whole_literals(autosummary.extract_summary)


def setup(app):
    # `estimators.svymean` and `estimators.inference.estimate.svymean` are one
    # function, documented once; a reference by any import path finds it.
    app.connect("missing-reference", resolve_alias)
    # Before numpydoc (priority 500) rewrites the lines.
    app.connect("autodoc-process-docstring", _plain_text_docstrings, priority=400)
