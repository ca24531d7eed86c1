# The two commands of the README: `make demo` (set up, then score the example data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.salt-installed

.PHONY: install demo test lint

# CPU torch first (a bare torch requirement would pull a multi-GB CUDA build), with the torchvision
# pip pairs it with; salt/_torch_compat.py makes that pair importable. See README, "Set-up".
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0 torchvision==0.28.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The main job: score the example photo folder with the shipped model (tables, overlays, run.json in out/example),
# then the trial endpoints of the example visit table.
demo: $(STAMP)
	$(BIN)/salt score data/example_photos -o out/example
	$(BIN)/salt endpoints data/example_visits.csv -o out/example_endpoints.csv
	@echo "wrote out/example (visits.csv, views.csv, errors.csv, overlays/, run.json) and out/example_endpoints.csv"

lint: $(STAMP)
	$(BIN)/ruff check salt tests benchmarks
	$(BIN)/ruff format --check salt tests benchmarks

# Lint and type checks first (seconds), then the suite. pytest exits 5 when it collects no test, which fails too.
test: $(STAMP)
	$(BIN)/ruff check salt tests benchmarks
	$(BIN)/mypy
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest
