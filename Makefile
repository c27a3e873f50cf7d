# Two commands for a new user: `make demo` and `make test`.
# Both create .venv/ and install the package (editable, pinned) when needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-unit lint install bench bench-load clean a11y-deps fuzz

$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/fjaaqa demo

# Browser accessibility checks: Debian chromium (installed when root) and axe-core from npm.
a11y-deps:
	bash tests/a11y/install.sh

NOTEBOOKS := notebooks/review_pack.ipynb notebooks/frm_report.ipynb notebooks/scenario_overview.ipynb \
             notebooks/threshold_scenarios.ipynb \
             notebooks/quality_summary.ipynb notebooks/self_assessment.ipynb

lint: $(STAMP)
	$(BIN)/ruff check fjaaqa tests bench

# Everything: style, unit and integration tests, the notebooks (nbval), and the end-to-end build (the wheel
# installed in a fresh venv outside the repository runs the demo; tests/e2e read that one build).
# Two workers (pytest-xdist), a test module or notebook to each at a time (`--dist loadscope`: a notebook's
# cells run in order on one kernel); the build runs beside them from the start.
PYTEST_WORKERS := -n 2 --dist loadscope
test: $(STAMP) a11y-deps lint
	$(BIN)/python -m pytest tests $(PYTEST_WORKERS) --nbval-lax $(NOTEBOOKS) --durations=15

# The quick loop while working: everything but the end-to-end build.
test-unit: $(STAMP) lint
	$(BIN)/python -m pytest tests $(PYTEST_WORKERS) --ignore=tests/e2e --nbval-lax $(NOTEBOOKS)

# The property tests with fresh random draws, 1,500 examples each (about 4 minutes), where `make test` replays
# the same 40. A failure prints the example to keep as an @example in tests/test_fuzz.py.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/test_fuzz.py -p no:cacheprovider

# Every figure with its goal (issue 10). The national run writes ~1 GB of Parquet to /tmp and takes a while.
bench: $(STAMP)
	$(BIN)/python bench/bench_indicators.py
	$(BIN)/python bench/bench_frm.py
	$(BIN)/python bench/bench_scenarios.py
	$(BIN)/python bench/bench_ilr.py
	$(BIN)/python bench/bench_packs.py
	$(BIN)/python bench/bench_national.py

# Load (issue 11): 300 agencies' packs and 2,000 providers' FRM reports in one batch, memory sampled (~100 min on 2 cores).
bench-load: $(STAMP)
	$(BIN)/python bench/bench_load.py 300 1000 bench/load.json

clean:
	rm -rf $(VENV) build dist fjaaqa/resources outputs/* data/synthetic
	touch outputs/.gitkeep
