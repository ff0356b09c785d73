"""``python -m estimators.cli`` runs the ``kalib`` command line."""

import sys

from estimators.cli import main

sys.exit(main())
