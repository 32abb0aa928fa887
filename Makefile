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
	$(VENV)/bin/python -m mcm_devstack run

test: install
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(VENV)/bin/python -m pytest -q tests/fuzz $(PYTEST_ARGS)

# Benchmark report → docs/benchmarks.md + .json (~5–8 min). Uses wrk and nginx when installed
# (apt-get install -y wrk nginx); BENCH_ARGS=--quick for a short try-out that leaves docs/ alone.
bench: install
	$(VENV)/bin/python tests/perf/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
