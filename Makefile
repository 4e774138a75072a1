# Two commands matter: `make demo` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
REQS   := requirements.txt requirements-dev.txt functions/requirements.txt \
          sagemaker/requirements.txt model_build/requirements.txt
MODEL_SOURCES := $(wildcard model_build/*.py) functions/audio_inference/audio.py
MODEL_SIZE ?= tiny
# One stamp per size, so `make demo MODEL_SIZE=base` rebuilds when the size changes.
MODEL_STAMP := build/.model-$(MODEL_SIZE)

.PHONY: help install browser model samples demo test bench bench-tools screenshot third-party lint clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(VENV)/.installed: $(REQS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.12)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed  ## create .venv with every dependency

CHROMIUM ?= /usr/bin/chromium
# The page tests drive Debian's chromium with Playwright (no browser download).
browser:  ## install Debian's chromium for the page tests (apt; as root or with sudo)
	@test -x $(CHROMIUM) || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }
	@test -x $(CHROMIUM) || { echo "chromium is not at $(CHROMIUM): install it (apt-get install chromium) or set CHROMIUM=..."; exit 1; }

$(MODEL_STAMP): $(VENV)/.installed $(MODEL_SOURCES)
	$(PY) -m model_build --size $(MODEL_SIZE)
	rm -f build/.model-* && touch $@

model: $(MODEL_STAMP)  ## generate data, train, export and gate build/model.onnx (MODEL_SIZE=tiny|small|base|large)

build/samples/manifest.csv: $(VENV)/.installed $(wildcard model_build/*.py)
	$(PY) -m model_build samples --out build/samples --count 40

samples: build/samples/manifest.csv  ## labelled demo WAVs

demo: model samples  ## the whole proof of concept on an embedded AWS emulator (MODEL_SIZE=...)
	$(PY) -m kit local

test: $(VENV)/.installed browser lint  ## lint, then every test (unit, Pulumi mocks, moto, real processes, the page in chromium)
	CHROMIUM=$(CHROMIUM) $(PY) -m pytest

# Silero VAD v5 (MIT licence) as its own PyPI wheel ships it: wrapped, checked, run locally.
THIRD_PARTY := build/third-party
third-party: $(VENV)/.installed samples  ## wrap + check + a short kit local on a real third-party model fetched from PyPI (silero-vad's wheel)
	rm -rf $(THIRD_PARTY) && mkdir -p $(THIRD_PARTY)
	$(PY) -m pip download --no-deps --quiet --dest $(THIRD_PARTY) silero-vad==6.2.3
	cd $(THIRD_PARTY) && $(abspath $(PY)) -m zipfile -e silero_vad-6.2.3-py3-none-any.whl wheel
	$(PY) -m model_build wrap $(THIRD_PARTY)/wheel/silero_vad/data/silero_vad.onnx --labels speech \
	  --window 576 --context 64 --out $(THIRD_PARTY)/silero-vad
	$(PY) -m kit local --model-dir $(THIRD_PARTY)/silero-vad --variants standard --requests 6 \
	  --warm 20 --cold-starts 1 --out $(THIRD_PARTY)/results --no-report

screenshot: browser  ## the README's picture of the decision page (after make demo)
	$(PY) -m kit.render.screenshot results/report.html docs/decision-page.png

BENCH_SIZES := tiny small base large
comma := ,
empty :=
space := $(empty) $(empty)

bench-tools:  ## install the compiled HTTP load generators make bench prefers (Debian/Ubuntu: wrk, hey)
	apt-get install -y wrk hey || sudo apt-get install -y wrk hey

build/sizes/%/model.onnx: $(VENV)/.installed $(MODEL_SOURCES)
	$(PY) -m model_build --size $* --out build/sizes/$*

bench: model $(foreach s,$(BENCH_SIZES),build/sizes/$(s)/model.onnx)  ## runtime figures for every model size, simulator speed -> build/bench.json, build/simulate-bench.json
	$(PY) -m benchmarks runtime --sizes $(subst $(space),$(comma),$(BENCH_SIZES))
	$(PY) -m benchmarks simulator
	$(PY) -m benchmarks recommend

lint: $(VENV)/.installed  ## ruff (lint + format) and mypy (every package, every function typed)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

clean:  ## remove build outputs (keeps .venv)
	rm -rf build results .pytest_cache
