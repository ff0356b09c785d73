"""The version of kalib: the one place it is written.

``pyproject.toml`` reads it for the package metadata
(``[tool.setuptools.dynamic]``), ``kalib --version`` prints it, and
``CHANGELOG.md`` has a section for it.
"""

__version__ = "0.2.0.dev0"
