# The two quick-start commands (see README): `make run` and `make test`.
# Both create .venv on first use and install the package with its test extras there.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: run test check bench install clean example-secrets clean-demo

$(BIN)/connector: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(BIN)/connector

install: $(BIN)/connector

SECRETS = $(HOME)/.config/connector
DEMO_ARGS ?=

# The demo (examples/demo.py): a local django-helpdesk (examples/helpdesk_site) on 127.0.0.1:8000
# whose webhooks call `connector serve` on 127.0.0.1:8080, SQLite, state in .demo/, random secrets
# made on first use in ~/.config/connector/. Ctrl-C stops both. Other ports:
#   make run DEMO_ARGS='--helpdesk-port 8001 --connector-port 8081'
run: install
	$(BIN)/python examples/demo.py $(DEMO_ARGS)

# The secret files examples/connector.toml (the Zendesk example) reads, for a dry run against
# your Zendesk: a random signing secret, a placeholder API token (put your real one there).
example-secrets: $(SECRETS)/zendesk-webhook-secret $(SECRETS)/admin-token

$(SECRETS)/zendesk-webhook-secret:
	mkdir -p $(SECRETS) && chmod 700 $(SECRETS)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $@
	[ -f $(SECRETS)/zendesk-api-token ] || (umask 077 && echo "replace-with-your-zendesk-api-token" > $(SECRETS)/zendesk-api-token)
	chmod 600 $@ $(SECRETS)/zendesk-api-token

# The status page's admin token (examples/connector.toml reads it; the demo makes it too).
$(SECRETS)/admin-token:
	mkdir -p $(SECRETS) && chmod 700 $(SECRETS)
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(32))" > $@
	chmod 600 $@

# The static checks `make test` runs first (and so CI): lint and format (ruff), types (mypy,
# configured in pyproject.toml). The layers' import contract runs inside the suite (tests/test_layers.py).
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/due_dates.py

clean:
	rm -rf $(VENV) build *.egg-info

# The demo's state (its helpdesk, database and logs); its secrets stay in ~/.config/connector.
clean-demo:
	rm -rf .demo
