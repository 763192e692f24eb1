# The two set-up commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-slow bench validate lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,dask,excel,app]'
	@echo "Compiling the fast engine once (about a minute; numba caches it on disk)..."
	$(PY) -c "from simulator.data.scenario import load_scenario; from simulator.study.runner import run_batch; run_batch(load_scenario('classroom'), [0], 'fast')"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/supplysim run classroom --out results/demo --force

test: $(STAMP)
	$(PY) -m pytest

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

bench: $(STAMP)
	$(PY) benchmarks/bench.py

validate: $(STAMP)
	$(PY) -m simulator.study.validation --out docs/validation.md

lint: $(STAMP)
	$(VENV)/bin/ruff check simulator tests benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
