# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv

LOCK := requirements/dev.lock
# What the image installs: the runtime dependencies and the k8s extra, no dev tools, each shared package
# pinned as in the dev lock (it is the constraint).
RUNTIME_LOCK := requirements/runtime.lock
# `make lock` keeps every pin that still fits pyproject.toml; `make lock LOCK_FLAGS=--upgrade` moves all
# of them to the newest releases.
LOCK_FLAGS ?=

# The locked dependency set (the dev extra included, the bench extra not), then the project itself.
$(VENV)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -r $(LOCK)
	$(VENV)/bin/pip install --quiet --no-deps -e .
	touch $@

.PHONY: install lock demo ui test lint env-example
install: $(VENV)/.installed

# Resolved for every platform (markers) on the oldest Python the project supports.
lock:
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet 'uv>=0.5'
	$(VENV)/bin/uv pip compile --quiet pyproject.toml --extra dev --universal --python-version 3.11 \
		--no-emit-package ycpipeline $(LOCK_FLAGS) -o $(LOCK)
	$(VENV)/bin/uv pip compile --quiet pyproject.toml --extra k8s --universal --python-version 3.11 \
		--no-emit-package ycpipeline --constraint $(LOCK) $(LOCK_FLAGS) -o $(RUNTIME_LOCK)

demo: install
	$(VENV)/bin/ycpipeline demo

ui: install
	$(VENV)/bin/ycpipeline demo --ui

test: install
	bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/sqlfluff lint ycpipeline deploy

# .env.example from the settings' defaults and descriptions (a test fails when it falls behind).
env-example: install
	$(VENV)/bin/python -m ycpipeline.settings_docs
