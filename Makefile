# Developer entry points. `make demo` runs the example site; `make test` runs
# every test suite against every database server it can reach; `make matrix`
# runs the suite on every supported Django release (noxfile.py); `make bench`
# runs the benchmarks (SCALE=small, the default, or SCALE=full; they need
# PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379, see BENCHMARKS.md).
PYTHON ?= python3
SCALE ?= small
VENV ?= .venv
BIN := $(VENV)/bin
# Address of `make demo` (e.g. `make demo PORT=8011` when 8000 is taken).
HOST ?= 127.0.0.1
PORT ?= 8000
# The oldest pip that installs dependency groups (`pip install --group`).
PIP_MIN := 25.1

.PHONY: venv install mysql-driver lint test matrix demo bench clean

# The one place that makes the virtualenv usable, whoever created it (this
# Makefile, example_project/demo.sh or `python -m venv` by hand): create it if
# it is missing, and upgrade its pip whenever it is older than $(PIP_MIN).
# Every target that installs into $(VENV) depends on it.
venv:
	@if [ ! -x "$(BIN)/python" ]; then \
		"$(PYTHON)" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
			|| { echo "$(PYTHON) is not Python 3.10 or newer; try: make PYTHON=python3.12" >&2; exit 1; }; \
		echo "Creating the virtualenv $(VENV)"; \
		"$(PYTHON)" -m venv "$(VENV)"; \
	fi
	@"$(BIN)/python" -c 'import sys; from importlib.metadata import version; \
		sys.exit(tuple(int(p) for p in version("pip").split(".")[:2]) < tuple(int(p) for p in sys.argv[1].split(".")))' \
		"$(PIP_MIN)" 2>/dev/null \
		|| { echo "Upgrading pip in $(VENV) (dependency groups need pip $(PIP_MIN) or newer)"; \
			"$(BIN)/python" -m pip install --quiet --disable-pip-version-check --upgrade "pip>=$(PIP_MIN)"; }

# The extras the tests and the type check need (channels: the Channels
# consumer, stream_django.channels).
EXTRAS := redis,getstream,tasks,api,channels

install: venv
	$(BIN)/python -m pip install -e ".[$(EXTRAS)]" --group test
	@$(MAKE) --no-print-directory mysql-driver

# mysqlclient, the MariaDB/MySQL driver, builds against the MariaDB client
# library. When it does not build and this runs as root on Debian/Ubuntu, the
# build's system packages are installed with apt-get and it is built again
# (APT=no skips that); otherwise the command to run is printed, and
# tests/runall.py reports the MariaDB leg as not run.
APT ?= yes
MYSQL_SYSTEM_PACKAGES := libmariadb-dev pkg-config
mysql-driver: venv
	@$(BIN)/python -m pip install --quiet --group mysql 2>/dev/null && exit 0; \
	if [ "$(APT)" != no ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "mysqlclient did not build: installing $(MYSQL_SYSTEM_PACKAGES) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(MYSQL_SYSTEM_PACKAGES) >/dev/null \
			&& $(BIN)/python -m pip install --quiet --group mysql && exit 0; \
	fi; \
	echo "mysqlclient did not build: run 'sudo apt-get install $(MYSQL_SYSTEM_PACKAGES)' (Debian/Ubuntu) and 'make install' again; until then the MariaDB leg of 'make test' is not run"

# Style, format, types and migrations; CI runs it before the tests.
lint: venv
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]" --group lint --group test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m django makemigrations --check --dry-run --settings=tests.settings

test: install
	$(BIN)/python -m tests.runall

# The supported-versions matrix of noxfile.py: the SQLite leg on each
# supported Django release and the package without extras (NOXARGS go to
# nox, e.g. `make matrix NOXARGS="-s no_extras"`).
NOXARGS ?=
matrix: venv
	$(BIN)/python -m pip install --quiet --group nox
	$(BIN)/python -m nox $(NOXARGS)

# The example site with demo data, served by uvicorn; see docs/example.md.
demo: venv
	PYTHON="$(PYTHON)" VENV="$(VENV)" HOST="$(HOST)" PORT="$(PORT)" sh example_project/demo.sh

bench: venv
	$(BIN)/python -m pip install -e ".[redis,tasks,api]" --group bench
	$(BIN)/python -m bench --scale $(SCALE)

clean:
	rm -rf $(VENV) .nox build dist *.egg-info .pytest_cache
