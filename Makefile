# Developer entry points. `make demo` runs the example site; `make test` runs
# every test suite against every database server it can reach; `make bench`
# runs the benchmarks (SCALE=small, the default, or SCALE=full; they need
# PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379, see BENCHMARKS.md).
PYTHON ?= python3
SCALE ?= small
VENV ?= .venv
BIN := $(VENV)/bin
# Address of `make demo` (e.g. `make demo PORT=8011` when 8000 is taken).
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: venv install lint test test-sqlite test-postgres test-mysql demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip

venv: $(BIN)/python

install: venv
	$(BIN)/python -m pip install -e ".[redis,getstream]" --group test
	$(BIN)/python -m pip install --group mysql || echo "mysqlclient did not build (install libmariadb-dev and pkg-config): the MariaDB run is skipped"

# Style, format, types and migrations; CI runs it before the tests.
lint: venv
	$(BIN)/python -m pip install -q -e . --group lint --group test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m django makemigrations --check --dry-run --settings=tests.settings

test: install
	$(BIN)/python -m tests.runall

# The example site with demo data; see docs/example.md.
demo:
	PYTHON="$(PYTHON)" VENV="$(VENV)" HOST="$(HOST)" PORT="$(PORT)" sh example_project/demo.sh

bench: venv
	$(BIN)/python -m pip install -e ".[redis]" --group bench
	$(BIN)/python -m bench --scale $(SCALE)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
