# One entry point per job. Each target installs what it needs first, so a fresh clone
# needs nothing but python3 (>= 3.11) on PATH.
SHELL := /bin/bash
PYTHON ?= python3
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
RUN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
DEMO_DIR ?= demo

.PHONY: install demo test lint bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet --compile-bytecode
	touch $@

install: $(VENV)/.installed

demo: install
	bash deploy/demo.sh $(DEMO_DIR)

# pytest exits 5 when it collected nothing: that is a failure, never a green run.
test: install
	@$(RUN)/pytest -n 2 -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest ran no tests" >&2; exit 1; fi; exit $$status

lint: install
	$(RUN)/ruff check .
	$(RUN)/ruff format --check .
	$(RUN)/mypy

bench: install
	$(RUN)/python -m tests.bench

clean:
	rm -rf $(VENV) $(TOOLS) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
