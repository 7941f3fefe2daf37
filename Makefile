# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

.PHONY: install demo ui test lint
install: $(VENV)/.installed

demo: install
	$(VENV)/bin/ycpipeline demo

ui: install
	$(VENV)/bin/ycpipeline demo --ui

test: install
	bash scripts/test.sh

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
