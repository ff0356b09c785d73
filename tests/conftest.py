"""Suite-wide set-up: ``tests/`` on ``sys.path`` (pytest's prepend import mode
puts a conftest's folder there), so that test modules in any sub-folder import
``repo_paths`` and the fixtures under ``reference/``."""
