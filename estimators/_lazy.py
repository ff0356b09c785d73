"""A package's names imported on first use (PEP 562).

``estimators`` (the analyst's names) and ``estimators.report`` (whose parser
must not load the pipeline's pandas, matplotlib and tqdm) export this way.
"""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for module ``package``: each name of
    ``exports`` (name -> home module) is imported from its home on first
    access and then kept as a plain attribute, so later look-ups skip
    ``__getattr__``; any other name is an AttributeError (an ImportError for
    ``from package import name``)."""

    def __getattr__(name: str):
        home = exports.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
