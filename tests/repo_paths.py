"""Where the tests find the repository and the stored reference values."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
#: ``tests/reference/<area>/``: each R script beside the values it wrote.
REFERENCE = TESTS / "reference"
