# The two commands a newcomer needs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
export XDG_RUNTIME_DIR ?= /tmp

.PHONY: install run test checks test-fast fuzz bench lint audit clean web-deps web-dev web-test chromium

# Dependencies are compiled to bytecode once, here: otherwise every process `make run` starts
# compiles them again on import wherever .pyc files are not written back (PYTHONDONTWRITEBYTECODE,
# read-only installs), which doubled each service's import CPU (4.2 s -> 1.9 s for circles).
$(VENV)/.installed: Makefile pyproject.toml uv.lock */pyproject.toml services/*/pyproject.toml
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user uv
	UV_PYTHON_DOWNLOADS=never $(PYTHON) -m uv sync --frozen --all-packages --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed

# The workspace's own sources are installed editable: compile whatever changed since the last run
# (a no-op when nothing did), for the same reason.
WORKSPACE_SOURCES := shared/src services/auth/src services/circles/src services/payments/src services/messaging/src gateway/src devtools/src

run: install
	@$(VENV)/bin/python -m compileall -q -j 0 $(WORKSPACE_SOURCES) >/dev/null
	$(VENV)/bin/python -m mcm_devstack run

test: install checks web-test chromium
	$(VENV)/bin/python -m pytest -q $(PYTEST_ARGS)

# The web app (web/, docs/web.md): npm packages exactly as locked, installed when the lock changes.
web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

web-deps: web/node_modules/.package-lock.json

# Vite's dev server (hot reload) at http://127.0.0.1:5173, /api forwarded to the gateway that
# `make run` started (GATEWAY_PORT, default 8000).
web-dev: web-deps
	cd web && npm run dev -- --host 127.0.0.1

# Debian's chromium for the browser tests (browser downloads do not work here), installed from
# the distribution's packages when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# Strict type check and the Vitest suite (components, API types not stale, first-page budget).
web-test: web-deps
	cd web && npm run typecheck && npm test

# Every workspace package: where its sources live (mypy, deptry) and its own import contracts.
PACKAGES := shared services/auth services/circles services/payments services/messaging gateway devtools
# The packages held to strict types: every package today; a new package joins this list once it
# is clean (`make lint` shows what is left).
CLEAN := shared services/auth services/circles services/payments services/messaging gateway devtools

# What `make test` holds every commit to: formatting and ruff's rules over the whole tree (every
# package with its tests, the cross-service tests/ tree, the root conftest.py), import contracts
# and declared dependencies everywhere, strict types over the clean packages.
checks: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy $(addsuffix /src,$(CLEAN))
	@for config in importlinter.ini $(addsuffix /importlinter.ini,$(PACKAGES)); do \
		[ -f "$$config" ] || continue; \
		echo "lint-imports $$config"; $(VENV)/bin/lint-imports --config "$$config" || exit 1; \
	done
	@for package in $(PACKAGES); do \
		echo "deptry $$package"; $(VENV)/bin/deptry "$$package/src" --config "$$package/pyproject.toml" || exit 1; \
	done

# Lint, format, strict types, import contracts, declared dependencies. Every tool runs even when
# an earlier one fails (so one run shows all findings); the target fails if any of them failed.
# - mypy: strict, config in the root pyproject.toml, over every package's src at once.
# - lint-imports: the root importlinter.ini (services independent, shared imports no service),
#   then each package's own importlinter.ini, looping over the files that exist.
# - deptry: one project at a time, each package's src against its own pyproject.toml, so a
#   library a service imports must be declared by that service (not only reached through mcm-shared).
lint: install
	@status=0; \
	echo "== ruff check"; $(VENV)/bin/ruff check . || status=1; \
	echo "== ruff format --check"; $(VENV)/bin/ruff format --check . || status=1; \
	echo "== mypy"; $(VENV)/bin/mypy $(addsuffix /src,$(PACKAGES)) || status=1; \
	for config in importlinter.ini $(addsuffix /importlinter.ini,$(PACKAGES)); do \
		[ -f "$$config" ] || continue; \
		echo "== lint-imports $$config"; $(VENV)/bin/lint-imports --config "$$config" || status=1; \
	done; \
	for package in $(PACKAGES); do \
		echo "== deptry $$package"; $(VENV)/bin/deptry "$$package/src" --config "$$package/pyproject.toml" || status=1; \
	done; \
	exit $$status

# Known vulnerabilities in every locked third-party dependency (dev included: it runs on CI and
# laptops), checked against PyPI's vulnerability data, so it needs the network. --strict makes a
# package that could not be looked up an error: offline, the audit fails instead of printing
# "No known vulnerabilities found" for packages it never checked.
# The web app's npm packages: npm's advisory database, high severity and above.
audit: install web-deps
	$(PYTHON) -m uv export --frozen --no-hashes --all-packages --no-emit-workspace --quiet \
		| $(VENV)/bin/pip-audit --requirement /dev/stdin --disable-pip --no-deps --strict --progress-spinner off
	cd web && npm audit --audit-level=high

fuzz: install
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-500} $(VENV)/bin/python -m pytest -q tests/fuzz $(PYTEST_ARGS)

# Benchmark report → docs/benchmarks.md + .json (~5–8 min). Uses wrk and nginx when installed
# (apt-get install -y wrk nginx); BENCH_ARGS=--quick for a short try-out that leaves docs/ alone.
bench: install
	$(VENV)/bin/python tests/perf/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
