# The one task runner. Every target creates (or reuses) the virtual environment in .venv.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SRC := src/ionledger
CHECKED := src tests bench

.PHONY: all venv demo test lint format bench bench-quick clean

all: test

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip==25.3
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev,spark]'
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/ionledger demo

lint: venv
	$(BIN)/ruff check $(CHECKED)
	$(BIN)/ruff format --check $(CHECKED)
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

format: venv
	$(BIN)/ruff format $(CHECKED)
	$(BIN)/ruff check --fix $(CHECKED)

# Full benchmarks (1 M events); results land in bench/results/*.json.
bench: venv
	$(BIN)/python bench/run_all.py

# The same benchmarks at a size that finishes in a minute or two.
bench-quick: venv
	$(BIN)/python bench/run_all.py --quick

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .mypy_cache .pytest_cache .ruff_cache
