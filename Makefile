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

SECRETS = $(HOME)/.config/connector

# Runs the connector on its embedded default (SQLite file connector.db, no other server):
# imports the example registry and serves webhooks with examples/connector.toml.
run: install $(SECRETS)/zendesk-webhook-secret $(SECRETS)/admin-token
	$(BIN)/connector import examples/registry.json --database sqlite:///connector.db
	$(BIN)/connector serve --config examples/connector.toml

# Secrets live outside the repository; the demo makes random ones on first use.
$(SECRETS)/zendesk-webhook-secret:
	mkdir -p $(SECRETS) && chmod 700 $(SECRETS)
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $@
	[ -f $(SECRETS)/zendesk-api-token ] || echo "replace-with-your-zendesk-api-token" > $(SECRETS)/zendesk-api-token
	chmod 600 $(SECRETS)/*

# The status page's admin token (examples/connector.toml reads it; log in with it at /login).
$(SECRETS)/admin-token:
	mkdir -p $(SECRETS) && chmod 700 $(SECRETS)
	$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $@
	chmod 600 $@

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/due_dates.py

clean:
	rm -rf $(VENV) build *.egg-info
