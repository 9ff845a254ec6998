# MiMo-AE workbook. `make demo` and `make test` install what they need on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Each test module whole on one of two workers, slow modules first (tests/conftest.py): module fixtures built once.
PYTEST := $(PY) -m pytest -n 2 --dist loadscope --no-loadscope-reorder
DEPS_SUM := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(DEPS_SUM)
BROWSER_STAMP := $(VENV)/.browser-$(DEPS_SUM)
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))

# JupyterLab reads the project's Lab defaults from .jupyter/labconfig (notebooks/NN_name.py opens as a
# notebook); the reader's own Jupyter config and Lab settings still apply on top.
LAB_ENV := JUPYTER_CONFIG_PATH="$(CURDIR)/.jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}"
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help install install-browser demo test test-lib test-notebooks test-browser lab sync sweep bench clean

## List the targets.
help:
	@awk '/^## /{if (!doc) doc=substr($$0, 4); next} /^[a-z-]+:/{if (doc) printf "  %-16s %s\n", substr($$1, 1, length($$1)-1), doc; doc=""}' $(MAKEFILE_LIST)

## Create .venv and install the package and JupyterLab (torch==2.13.0; its CPU build: TORCH_INDEX=https://download.pytorch.org/whl/cpu).
install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e '.[test,tracking,lab]'
	rm -f $(VENV)/.installed-*
	touch $@

## The browser test's extra (Playwright); Chromium comes from the system (Debian: apt-get install chromium).
install-browser: $(BROWSER_STAMP)

$(BROWSER_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,tracking,lab,browser]'
	rm -f $(VENV)/.browser-*
	touch $@

## The main job: prepare the embedded cohort, train one model per fusion strategy, compare them.
demo: install
	$(VENV)/bin/mimo sweep --params params/default.yaml --fusion concat gated attention --name demo

## All tests: pytest on mimo_lib, then the numbered notebooks under nbval with the smoke params.
test: install
	$(PYTEST) tests
	$(PY) -m mimo_lib.nbtests nbval

## pytest on mimo_lib alone (no notebook execution).
test-lib: install
	$(PYTEST) -m "not notebooks" tests

## The notebook checks: pairs in sync, the papermill sweep, every numbered notebook under nbval.
test-notebooks: install
	$(PYTEST) -m notebooks tests
	$(PY) -m mimo_lib.nbtests nbval


## JupyterLab on the numbered notebooks, with the project's Lab settings (double-click NN_name.py to open it).
## More options: make lab LAB_ARGS="--port=8890 --no-browser".
lab: install
	$(LAB_ENV) $(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks $(ALLOW_ROOT) $(LAB_ARGS)

## The walkthrough in headless Chromium: every notebook opened from Lab's file browser and run with the
## smoke params; screenshots in figures/browser/.
test-browser: install-browser
	$(PY) tests/browser/lab_walkthrough.py

## A sweep of the three fusion strategies on the default params.
sweep: install
	$(VENV)/bin/mimo sweep --params params/default.yaml --fusion concat gated attention

## Pair every notebooks/NN_*.py (the source of truth) with its .ipynb and bring both in sync.
sync: install
	$(VENV)/bin/jupytext --set-formats ipynb,py:percent $(NOTEBOOKS)
	$(VENV)/bin/jupytext --sync $(NOTEBOOKS)

## The speed benchmarks (prepare, training throughput).
bench: install
	$(PY) benchmarks/bench_prepare.py
	$(PY) benchmarks/bench_throughput.py

## Remove runs, prepared windows and figures.
clean:
	rm -rf runs data/processed/* figures/*.png figures/browser build/browser .pytest_cache
