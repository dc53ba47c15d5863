# maintgraph: two commands for a fresh machine (Python 3.11, gcc, package registries).
#   make demo   set up the environment, start the embedded services, run the main job
#   make test   install what tests need and run the test suite
# Both are idempotent: re-running only redoes what changed.

PYTHON     ?= python3.11
VENV       := .venv
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed
PIP        := $(BIN)/python -m pip
MAINTGRAPH := $(BIN)/maintgraph
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install demo up down status test lint lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --progress-bar off -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip check
	@touch $@

install: $(STAMP)  ## create .venv and install maintgraph with the pinned dependencies

demo: install  ## start the embedded services and show their status
	$(MAINTGRAPH) up
	$(MAINTGRAPH) status

up: install  ## start the embedded services
	$(MAINTGRAPH) up

down: install  ## stop the embedded services
	$(MAINTGRAPH) down

status: install  ## show the services
	$(MAINTGRAPH) status

test: install  ## run lint and the test suite (starts its own embedded services)
	$(BIN)/ruff check maintgraph tests bench
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install  ## ruff check + format check
	$(BIN)/ruff check maintgraph tests bench
	$(BIN)/ruff format --check maintgraph tests bench

lock:  ## re-resolve pyproject.toml's dependencies into constraints.txt (needs the registries)
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet -e '.[dev]'
	{ sed -n '1,3p' constraints.txt; .venv-lock/bin/python -m pip freeze --all --exclude-editable \
	  | grep -v -E '^(setuptools|wheel)=='; } > constraints.txt.new && mv constraints.txt.new constraints.txt
	rm -rf .venv-lock

clean:  ## stop services and remove the environment and the data dir
	-test -x $(MAINTGRAPH) && $(MAINTGRAPH) down
	rm -rf $(VENV) .maintgraph
