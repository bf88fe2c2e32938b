# The two commands a user needs: `make demo` and `make test`. Only Python 3 and make are assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PLUGINS := $(wildcard sync-core/pyproject.toml tap-*/pyproject.toml target-*/pyproject.toml transforms/pyproject.toml)

.PHONY: install test lint demo bench bench-quick soak clean dist

$(STAMP): requirements-dev.txt $(PLUGINS) Makefile
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "make: Python >= 3.11 is needed for the tests (found " + sys.version.split()[0] + "); run e.g. make test PYTHON=python3.11")'
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "make: '$(PYTHON) -m venv' failed: install Python's venv module (on Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	@echo "make: installing this project and its tools into $(VENV)/ (a few minutes the first time; again only when a requirement changes)"
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

# Versioned wheels and sdists of this project's six packages, and a wheel of every package they need, into DIST:
# `pip install --no-index --find-links dist/ customcrm-invoiced-tap-invoiced` then installs from it alone, so no
# package of this project can come from an index. Our wheels are named by path, so pip takes them from here.
DIST ?= dist
PACKAGES := sync-core tap-customcrm tap-invoiced target-customcrm target-invoiced transforms
dist: install
	rm -rf $(DIST)
	$(foreach p,$(PACKAGES),$(BIN)/python -m build --no-isolation --outdir $(DIST) ./$(p) >/dev/null &&) true
	$(BIN)/python -m pip wheel --quiet --wheel-dir $(DIST) $(DIST)/*.whl "$$(ls $(DIST)/customcrm_invoiced_sync_core-*.whl)[postgres]"

bench: install
	$(BIN)/python bench/run_all.py

# A smoke run of the same harness at tiny sizes (about a minute); BENCH_OUT sets where its results go.
BENCH_OUT ?= bench/results/quick
bench-quick: install
	$(BIN)/python bench/run_all.py --quick --out $(BENCH_OUT)

# The reliability soak at the issue's sizes: faults, crashes, mass changes (tens of minutes on 2 cores); the report
# goes to soak/results/latest.md and README.md. SOAK_SCALE=small runs the same scenarios in a few minutes.
SOAK_SCALE ?= issue
soak: install
	$(BIN)/python -m soak --scale $(SOAK_SCALE) $(if $(filter issue,$(SOAK_SCALE)),--readme)

clean:
	rm -rf $(VENV) .meltano .pytest_cache .ruff_cache .hypothesis .demo dist
