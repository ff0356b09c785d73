"""Write the API reference's pages from the packages as they are at build time.

``docs/conf.py`` calls :func:`write_reference` before Sphinx reads the
sources, so a name added to (or removed from) a package shows up in the
reference without anyone editing a list. Pages go to ``docs/api/generated/``
(git-ignored): one per package and per public module, each with the module
docstring (``automodule``) and an ``autosummary`` table whose entries get
their own pages (``autosummary_generate``).

Which names a page lists
    A package: its ``__all__``; without one, the public functions and classes
    it imports from its own sub-modules (``from weighting import calibrate``).
    A module: its ``__all__``; without one, the public functions and classes
    it defines and its upper-case constants (assigned in its source).

Each function and class gets one page, at the module that defines it
(``estimators.inference.estimate.svymean``) when that module lists it, else
at the first name it is listed under; every other table links to that page.
``docs/conf.py`` resolves a reference to any other import path of an object
(``estimators.svymean``) to that page. Private modules (``_name``) and
``__main__`` are left out.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("weighting", "estimators")
OBJECTS = "objects"  # sub-folder of generated/ for the per-object pages


@dataclass
class Page:
    name: str
    is_package: bool
    own: list = field(default_factory=list)  # names documented on this page's table
    linked: list = field(default_factory=list)  # canonical names documented elsewhere
    children: list = field(default_factory=list)  # sub-module pages (packages)


def _public_modules(package: str) -> list:
    """The package and its modules, parents first, private ones left out."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=package + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts):
            continue
        names.append(info.name)
    return names


def _is_submodule(module, name: str) -> bool:
    return (
        hasattr(module, "__path__")
        and importlib.util.find_spec(f"{module.__name__}.{name}") is not None
    )


def _constants(module) -> list:
    """Upper-case names assigned at the top level of the module's source."""
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return []
    names = []
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        names += [
            t.id
            for t in targets
            if isinstance(t, ast.Name) and t.id.isupper() and not t.id.startswith("_")
        ]
    return list(dict.fromkeys(names))


def _listed(module) -> list:
    """The names a page lists (see the module docstring)."""
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return [n for n in declared if not _is_submodule(module, n)]
    modname = module.__name__
    out = []
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        home = getattr(obj, "__module__", "") or ""
        if home == modname or (hasattr(module, "__path__") and home.startswith(modname + ".")):
            out.append(name)
    out.sort(key=str.lower)
    if not hasattr(module, "__path__"):
        out += [n for n in _constants(module) if n not in out]
    return out


def _key(modname: str, name: str, obj):
    """Functions and classes are the same object under every name;
    constants are identified by where they are listed."""
    if inspect.isclass(obj) or inspect.isroutine(obj):
        return id(obj)
    return (modname, name)


def _home(obj, modname: str, name: str) -> bool:
    return (
        getattr(obj, "__module__", None) == modname and getattr(obj, "__qualname__", None) == name
    )


def collect(packages=PACKAGES) -> list:
    """Pages in import order; every listed object assigned one canonical name."""
    pages, by_name, listings = [], {}, []
    for package in packages:
        for modname in _public_modules(package):
            module = importlib.import_module(modname)
            page = Page(modname, hasattr(module, "__path__"))
            for name in _listed(module):
                listings.append((page, name, getattr(module, name)))
            parent = modname.rpartition(".")[0]
            if parent in by_name:
                by_name[parent].children.append(modname)
            pages.append(page)
            by_name[modname] = page
    canonical = {}
    for page, name, obj in listings:
        key = _key(page.name, name, obj)
        if key not in canonical or _home(obj, page.name, name):
            canonical[key] = f"{page.name}.{name}"
    for page, name, obj in listings:
        full = canonical[_key(page.name, name, obj)]
        if full == f"{page.name}.{name}":
            page.own.append(name)
        else:
            page.linked.append(full)
    return pages


def _title(text: str, char: str = "=") -> str:
    return f"{text}\n{char * len(text)}\n"


def render(page: Page) -> str:
    kind = "package" if page.is_package else "module"
    lines = [
        ".. This page is written by docs/api/api_reference.py at build time.\n",
        _title(f"``{page.name}``"),
        f".. automodule:: {page.name}\n   :no-members:\n",
        f".. currentmodule:: {page.name}\n",
    ]
    if page.linked and not page.own:
        lines.append(_title(f"Importable from ``{page.name}``", "-"))
        lines.append("Each name links to its page in the module that defines it.\n")
    elif page.own:
        lines.append(_title("Public names", "-"))
    if page.own:
        lines.append(".. autosummary::\n   :toctree: " + OBJECTS + "\n   :nosignatures:\n")
        lines += [f"   {name}" for name in page.own]
        lines.append("")
    if page.linked:
        if page.own:
            lines.append(f"Also importable from this {kind}:\n")
        lines.append(".. autosummary::\n   :nosignatures:\n")
        # Relative to the current module (autosummary refuses its own prefix).
        lines += [f"   ~{name.removeprefix(page.name + '.')}" for name in page.linked]
        lines.append("")
    if page.children:
        lines.append(
            _title(
                "Modules"
                if not any(c.count(".") > page.name.count(".") + 1 for c in page.children)
                else "Contents",
                "-",
            )
        )
        lines.append(".. toctree::\n   :maxdepth: 1\n")
        lines += [f"   {child}" for child in page.children]
        lines.append("")
    return "\n".join(lines) + "\n"


def write_reference(outdir: Path, packages=PACKAGES) -> list:
    """Write one ``.rst`` per page into ``outdir``; remove pages of modules
    that no longer exist. Returns the pages."""
    outdir.mkdir(parents=True, exist_ok=True)
    pages = collect(packages)
    wanted = {f"{p.name}.rst": render(p) for p in pages}
    stubs = {f"{p.name}.{name}.rst" for p in pages for name in p.own}
    # Pages of modules and objects that no longer exist (or moved) would be
    # left outside every toctree.
    for stale in outdir.glob("*.rst"):
        if stale.name not in wanted:
            stale.unlink()
    for stale in (outdir / OBJECTS).glob("*.rst"):
        if stale.name not in stubs:
            stale.unlink()
    for name, text in wanted.items():
        path = outdir / name
        # Unchanged pages keep their mtime, so Sphinx re-reads only what changed.
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return pages


def _import(target: str):
    """The object a dotted name names, or None."""
    module, attrs = target, []
    while module:
        try:
            obj = importlib.import_module(module)
        except ImportError:
            module, _, last = module.rpartition(".")
            attrs.insert(0, last)
            continue
        for attr in attrs:
            obj = getattr(obj, attr, None)
        return obj
    return None


def resolve_alias(app, env, node, contnode):
    """Sphinx ``missing-reference`` handler: a Python reference to another
    import path of a documented object (a package re-export) resolves to
    the page at its defining module."""
    target = node.get("reftarget", "")
    if node.get("refdomain") != "py" or not target.startswith(PACKAGES):
        return None
    obj = _import(target)
    name = getattr(obj, "__qualname__", None)
    if obj is None or name is None or not hasattr(obj, "__module__"):
        return None
    canonical = f"{obj.__module__}.{name}"
    if canonical == target:
        return None
    return env.get_domain("py").resolve_xref(
        env, node["refdoc"], app.builder, "obj", canonical, node, contnode
    )
