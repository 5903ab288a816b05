# Two commands: `make run` (set up + run the demo) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CORES  ?= all

.PHONY: run test lint setup clean bench

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "relcoord needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

test: $(STAMP)
	$(BIN)/ruff check src tests workflow/scripts
	$(BIN)/snakefmt --check Snakefile workflow/rules workflow/consortium
	$(BIN)/python -m pytest -q
	$(BIN)/snakemake --lint

bench: $(STAMP)
	$(BIN)/python -m relcoord.bench

clean:
	rm -rf results/* .snakemake
