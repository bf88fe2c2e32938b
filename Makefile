# The two commands a user needs: `make demo` and `make test`. Only Python 3 and make are assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLUGINS := $(wildcard tap-*/pyproject.toml target-*/pyproject.toml transforms/pyproject.toml)

.PHONY: install test lint demo bench clean

$(STAMP): requirements-dev.txt $(PLUGINS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt $(foreach p,$(PLUGINS),-e ./$(dir $(p)))
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest

demo: install
	$(BIN)/python -m sandbox.demo

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .meltano .pytest_cache .ruff_cache .hypothesis .demo
