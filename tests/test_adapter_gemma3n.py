"""The Gemma 3n adapter's own checks on a tiny random Gemma 3n: the model as reloaded, the logit soft
cap, and the 30 s it hears. What every adapter must do is checked in tests/test_adapter_families.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.adapter_checks import assert_trained_bpe
from tests.models_gemma3n import NAMED_TOKENS, SOFT_CAP
from tests.test_adapter_families import PROMPT, family_named

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GEMMA3N = family_named("gemma-3n")


def test_tiny_model_loads_back_offline(tmp_path_factory):
    from transformers import AutoConfig, AutoProcessor, Gemma3nForConditionalGeneration, Gemma3nProcessor, GemmaTokenizer

    directory = GEMMA3N.directory(tmp_path_factory)
    processor = AutoProcessor.from_pretrained(directory)
    assert isinstance(processor, Gemma3nProcessor) and isinstance(processor.tokenizer, GemmaTokenizer)
    config = AutoConfig.from_pretrained(directory)
    assert config.model_type == "gemma3n" and config.text_config.final_logit_softcapping == SOFT_CAP
    tokenizer = processor.tokenizer
    for name, token in NAMED_TOKENS.items():
        assert getattr(tokenizer, name) == token
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]
    model = Gemma3nForConditionalGeneration.from_pretrained(directory)
    # the layout the model's embedders rely on: audio tokens past the vision block, past the text vocabulary
    assert model.config.audio_token_id == tokenizer.audio_token_id >= config.audio_config.vocab_offset > config.vision_config.vocab_offset
    assert tokenizer.convert_tokens_to_ids(tokenizer.boa_token) < config.text_config.vocab_size_per_layer_input  # a text token
    assert_trained_bpe(tokenizer, "<bos>")


def test_the_head_applies_the_soft_cap(tmp_path_factory, items):
    """Without the cap the shared path would differ from the model's own forward: the tiny model's
    cap (2) is below its largest logits' reach, so it moves every loss."""
    import torch

    adapter = GEMMA3N.adapter(tmp_path_factory)
    item = items[0]
    capped = adapter.score(item, "t2t", PROMPT)
    head = adapter.head
    assert head.cap == SOFT_CAP
    try:
        adapter.head = head.head  # the plain LM head
        uncapped = adapter.score(item, "t2t", PROMPT)
    finally:
        adapter.head = head
    assert [a.loss for a in capped] != pytest.approx([b.loss for b in uncapped], abs=1e-3)
    with torch.inference_mode():
        logits = head(torch.randn(3, adapter.model.config.text_config.hidden_size) * 50)
    assert float(logits.abs().max()) <= SOFT_CAP


def test_a_clip_past_30_s_is_a_warning(tmp_path_factory, items, tmp_path):
    import numpy as np
    import soundfile as sf

    long_clip = tmp_path / "long.wav"
    sf.write(long_clip, np.zeros(16000 * 31, dtype="float32"), 16000)
    with pytest.warns(UserWarning, match="hears only 30 s"):
        GEMMA3N.adapter(tmp_path_factory).read_context_audio(replace(items[0], context_audio=str(long_clip)))
