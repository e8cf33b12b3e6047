"""A tiny causal LM whose modelling code ships in its checkpoint, as remote-code families' does.

``build_tiny_remote_lm(directory)`` writes the tiny Qwen2 causal LM of :func:`tests.models.build_tiny_causal_lm`
with ``configuration_tiny_remote.py`` and ``modeling_tiny_remote.py`` beside it and an ``auto_map`` in its
config: transformers loads it only with ``trust_remote_code=True``, running that code (a config of its
own ``model_type`` and a model class over Qwen2's layers).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.models import build_tiny_causal_lm, sample_texts

MODEL_TYPE = "tiny_remote"
CONFIGURATION = '''from transformers import Qwen2Config


class TinyRemoteConfig(Qwen2Config):
    model_type = "tiny_remote"
'''
MODELING = '''from transformers import Qwen2ForCausalLM

from .configuration_tiny_remote import TinyRemoteConfig


class TinyRemoteForCausalLM(Qwen2ForCausalLM):
    config_class = TinyRemoteConfig
'''


def build_tiny_remote_lm(directory: Path, seed: int = 0) -> Path:
    directory = build_tiny_causal_lm(Path(directory), sample_texts(), seed=seed)
    (directory / "configuration_tiny_remote.py").write_text(CONFIGURATION)
    (directory / "modeling_tiny_remote.py").write_text(MODELING)
    config_path = directory / "config.json"
    config = json.loads(config_path.read_text())
    config["model_type"] = MODEL_TYPE
    config["architectures"] = ["TinyRemoteForCausalLM"]
    config["auto_map"] = {"AutoConfig": "configuration_tiny_remote.TinyRemoteConfig",
                          "AutoModelForCausalLM": "modeling_tiny_remote.TinyRemoteForCausalLM"}
    config_path.write_text(json.dumps(config, indent=2))
    return directory
