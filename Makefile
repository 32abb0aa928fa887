# The two commands a newcomer needs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export XDG_RUNTIME_DIR ?= /tmp

.PHONY: install run test test-fast fuzz bench lint clean

$(VENV)/.installed: pyproject.toml uv.lock */pyproject.toml services/*/pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user uv
	UV_PYTHON_DOWNLOADS=never $(PYTHON) -m uv sync --frozen --all-packages --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/python -m mcm_shared.devstack run

test: install
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(VENV)/bin/python -m pytest -q tests/fuzz $(PYTEST_ARGS)

bench: install
	$(VENV)/bin/python -m tests.perf.bench

clean:
	rm -rf $(VENV) .pytest_cache
