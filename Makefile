# The two quick-start commands (see README): `make run` and `make test`.
# Both create .venv on first use and install the package with its test extras there.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test bench install clean

$(BIN)/connector: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/connector

install: $(BIN)/connector

# Runs the connector on its embedded default (no server needed).
run: install
	$(BIN)/connector --help
	$(BIN)/connector due --start 2026-12-30T15:00:00+03:00 --hours 16

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/due_dates.py

clean:
	rm -rf $(VENV) build *.egg-info
