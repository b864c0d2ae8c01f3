# The two commands of the README, and the set-up they share.
#   make demo   set up, start the personal pool, run examples/hello.ipynb on it
#   make test   set up, start the personal pool, lint, type-check, run every test
# and for developers:
#   make unit       the unit tests only: no pool, no root (about two minutes)
#   make lint       ruff, ruff format, and the layer check (import-linter, pyproject.toml)
#   make typecheck  mypy --strict over condor_nb (worker code included) and the extension
#   make labext     build, lint and unit-test the JupyterLab extension (TypeScript, npm)
#   make bench      the ratio benchmarks (figures in docs/benchmarks.md)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.condor_nb-installed
# The JupyterLab extension: TypeScript in jupyter_ext/labextension, built (with Node.js
# and npm, at set-up) into jupyter_ext/condor_nb_jupyter/labextension, which the wheel
# ships prebuilt (share/jupyter/labextensions/condor-nb-jupyterlab): users need no Node.js.
LABEXT_SRC := jupyter_ext/labextension
LABEXT_OUT := jupyter_ext/condor_nb_jupyter/labextension
LABEXT_STAMP := $(LABEXT_OUT)/.built
LABEXT_INPUTS := $(shell find $(LABEXT_SRC)/src $(LABEXT_SRC)/style $(LABEXT_SRC)/scripts -type f 2>/dev/null) \
	$(LABEXT_SRC)/package.json $(LABEXT_SRC)/package-lock.json $(LABEXT_SRC)/tsconfig.json

.PHONY: setup system pool demo test unit lint typecheck bench clean labext

setup: $(STAMP) $(LABEXT_STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "condor_nb needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,dask,jupyter,jupyter-test,results]'
	@# An editable install skips data files: enable the server extension by hand.
	mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	cp jupyter_ext/jupyter-config/jupyter_server_config.d/condor_nb_jupyter.json \
		$(VENV)/etc/jupyter/jupyter_server_config.d/
	@# Bytecode once, so that `condor_nb` starts fast even with PYTHONDONTWRITEBYTECODE set.
	$(BIN)/python -m compileall -q condor_nb $(VENV)/lib > /dev/null
	touch $@

# npm ci (the lock file), tsc, webpack against the installed JupyterLab, then the link an
# editable install needs (what `jupyter labextension develop` does).
$(LABEXT_SRC)/node_modules/.installed: $(LABEXT_SRC)/package.json $(LABEXT_SRC)/package-lock.json
	@command -v npm > /dev/null || (apt-get update -qq && apt-get install -y -qq nodejs npm)
	cd $(LABEXT_SRC) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(LABEXT_STAMP): $(STAMP) $(LABEXT_SRC)/node_modules/.installed $(LABEXT_INPUTS)
	cd $(LABEXT_SRC) && rm -rf lib && PYTHON=$(CURDIR)/$(BIN)/python npm run build
	mkdir -p $(VENV)/share/jupyter/labextensions
	ln -sfn $(CURDIR)/$(LABEXT_OUT) $(VENV)/share/jupyter/labextensions/condor-nb-jupyterlab
	touch $@

labext: $(LABEXT_STAMP)
	cd $(LABEXT_SRC) && npm run lint && npm test

# From the machine (Debian): debootstrap for the personal pool, chromium for the UI test.
system:
	@command -v debootstrap > /dev/null && command -v chromium > /dev/null || \
		(apt-get update -qq && apt-get install -y -qq debootstrap chromium)

pool: setup system
	$(BIN)/condor_nb pool start

# A Debian 11 root with Python 3.9 + ipykernel (no papermill), cached; the tests of
# workers older than this host's packages use it (tests/integration/old_python.py).
.PHONY: py39-root
py39-root: setup system
	$(BIN)/python -m tests.integration.old_python

demo: pool
	$(BIN)/condor_nb submit examples/hello.ipynb -p name "HTCondor" -p repeat 2 --wait -o hello-output

lint: setup labext
	$(BIN)/ruff check condor_nb jupyter_ext tests benchmarks
	$(BIN)/ruff format --check condor_nb jupyter_ext tests benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q tests/unit

# The time bound turns a hang (even one at interpreter exit) into a failure CI can report.
test: pool lint typecheck
	timeout --kill-after=60 75m $(BIN)/pytest -q

bench: pool
	$(BIN)/python benchmarks/run.py

clean:
	-$(BIN)/condor_nb pool stop
	rm -rf $(VENV) hello-output
