# MiMo-AE workbook. `make demo` and `make test` install what they need on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))

.PHONY: install demo test test-lib test-notebooks sync sweep bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,tracking]'
	rm -f $(VENV)/.installed-*
	touch $@

## The main job: prepare the embedded cohort, train one model per fusion strategy, compare them.
demo: install
	$(VENV)/bin/mimo sweep --params params/default.yaml --fusion concat gated attention --name demo

## All tests: pytest on mimo_lib, then the numbered notebooks under nbval with the smoke params.
test: install
	$(PY) -m pytest -n 2 tests
	$(PY) -m mimo_lib.nbtests nbval

sweep: install
	$(VENV)/bin/mimo sweep --params params/default.yaml --fusion concat gated attention

## Pair every notebooks/NN_*.py (the source of truth) with its .ipynb and bring both in sync.
sync: install
	$(VENV)/bin/jupytext --set-formats ipynb,py:percent $(NOTEBOOKS)
	$(VENV)/bin/jupytext --sync $(NOTEBOOKS)

bench: install
	$(PY) benchmarks/bench_prepare.py
	$(PY) benchmarks/bench_throughput.py

clean:
	rm -rf runs data/processed/* figures/*.png .pytest_cache
