# The two commands of the README: `make demo` (set up, then score synthetic visits) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.salt-installed

.PHONY: install demo test lint

# CPU torch first (a bare torch requirement would pull a multi-GB CUDA build), with the torchvision
# pip pairs it with; salt/model/torch_compat.py makes that pair importable. Then the package with
# every extra and the test tools ([dev]): what the demo, the notebooks and the tests need.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0 torchvision==0.28.0
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The main job on data the demo makes itself: render 4 synthetic visits (exact SALT known), score
# them with the shipped model (tables, overlays, run.json), print SALT against the truth, then the
# trial endpoints of the example visit table (relapse measured from week 24).
DEMO := out/demo
demo: $(STAMP)
	rm -rf $(DEMO)
	$(BIN)/salt synth $(DEMO)/synth --visits 4 --seed 1 --size 512 --salt-uniform --no-progress
	$(BIN)/salt score $(DEMO)/synth/photos -o $(DEMO)/scored -q
	$(BIN)/salt endpoints data/example_visits.csv --reference 24 -o $(DEMO)/endpoints.csv
	$(BIN)/python examples/demo_report.py $(DEMO)
	@echo "wrote $(DEMO)/synth (photos, masks, truth.csv), $(DEMO)/scored (report.html, visits.csv, views.csv, errors.csv, overlays/, run.json) and $(DEMO)/endpoints.csv"

lint: $(STAMP)
	$(BIN)/ruff check salt tests benchmarks tools examples
	$(BIN)/ruff format --check salt tests benchmarks tools examples

# Lint and type checks first (seconds), then the suite. pytest exits 5 when it collects no test, which fails too.
test: $(STAMP)
	$(BIN)/ruff check salt tests benchmarks tools examples
	$(BIN)/mypy
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest
