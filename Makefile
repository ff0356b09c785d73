# kalib — the two commands a user needs are `make report` and `make test`.
# Both do the whole set-up first: a virtualenv in .venv, the package with its
# compiled kernels (pip install -e . builds cext/) and every extra (report,
# scale, docs, test: `.[all]`). `make docs` builds the site into docs/_build/html.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.kalib-installed
OUT    ?= report

.PHONY: setup browser test report docs bench bench-history bench-peers clean

setup: $(STAMP)

# The report test renders index.html in headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }

# Re-install when the build description or a kernel changes.
# setuptools >= 77 reads pyproject.toml's SPDX licence when setup.py is run
# directly (`setup.py build_ext --inplace` after editing a kernel).
$(STAMP): setup.py pyproject.toml $(wildcard cext/*.pyx)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip 'setuptools>=77'
	$(PIP) install --quiet -e '.[all]'
	touch $(STAMP)

# KALIB_REQUIRE_BROWSER=1: a missing Chromium fails the browser tests instead of
# skipping them (the `browser` target has just installed it).
test: setup browser
	KALIB_REQUIRE_BROWSER=1 $(PY) -m pytest -q -p no:cacheprovider

report: setup
	$(VENV)/bin/kalib report --out $(OUT) --force

# Warnings are errors; the guides in docs/guides/ are executed during the build.
docs: setup
	$(PY) -m sphinx -W --keep-going -j auto -b html -q docs docs/_build/html

# Judges each median against its history, appends to benchmarks/results/history.csv
# and renders benchmarks/history.html; bench-history renders the page alone.
bench: setup
	$(PY) benchmarks/run_bench.py

bench-history: setup
	$(PY) benchmarks/history_page.py

bench-peers: setup
	$(PY) benchmarks/peers.py

clean:
	rm -rf $(VENV) build *.egg-info cext/*.c cext/*.so report .pytest_cache docs/_build docs/api/generated
