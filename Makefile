# metarl developer commands. Every target works from a clean clone: it creates .venv first.
#
#   make setup        create .venv and install metarl with its dev and bench extras
#   make train        setup, then the main job: RL² meta-trained on 2D navigation and evaluated
#                     on held-out goals (python -m metarl.train --agent rl2 --env nav)
#   make test         setup, then the whole test suite on 2 processes (what .ci/run runs)
#   make lint         ruff check and ruff format --check
#   make bench-envs   native task vector envs vs Gymnasium SyncVectorEnv (scripts/bench_envs.py)
#   make render-deps  Debian packages for headless MuJoCo rendering (EGL), as root

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Installed only when the venv has no torch: a GPU user's own CUDA build is kept, and pip picks
# the local CPU wheel on the project machines.
TORCH ?= torch==2.13.0

.PHONY: help setup train test lint bench-envs render-deps

help:
	@sed -n 's/^#   //p' Makefile

$(PY):
	$(PYTHON) -m venv $(VENV)

setup: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install "$(TORCH)"
	$(PY) -m pip install -e ".[dev,bench]"

RUN ?= runs/rl2-nav-0

# A second `make train` continues (or, when finished, re-evaluates) the run instead of refusing.
train: setup
	@if [ -f $(RUN)/checkpoint.pt ]; then \
		$(PY) -m metarl.train --resume $(RUN); \
	else \
		$(PY) -m metarl.train --agent rl2 --env nav --out $(RUN); \
	fi

test: setup
	$(PY) -m pytest -n 2 tests

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench-envs: setup
	$(PY) scripts/bench_envs.py

render-deps:
	apt-get update && apt-get install -y libegl1 libegl-mesa0 libgl1-mesa-dri libopengl0
