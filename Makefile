# Two commands for a fresh machine: `make run` (install, then a realm with a
# local worker) and `make test` (install, then the test suite).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install run test lint proto proto-check bench clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e clients/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/mtor up

test: install proto-check
	HF_HUB_OFFLINE=1 $(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .

proto: install
	$(PY) tools/genproto.py

proto-check: install
	$(PY) tools/genproto.py --check

bench: install
	$(PY) bench/bench_core.py

clean:
	rm -rf $(VENV) build *.egg-info clients/python/*.egg-info
