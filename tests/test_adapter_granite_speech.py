"""The Granite Speech adapters' own checks on a tiny random Granite Speech and Granite Speech Plus:
the models as reloaded. What every adapter must do is checked in tests/test_adapter_families.py."""

from __future__ import annotations

import pytest

from s2sbench.scorer.adapters.audio_llm import speech_lm_class
from tests.adapter_checks import assert_trained_bpe
from tests.models_granite import AUDIO_TOKEN, END
from tests.test_adapter_families import family_named

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("name", ["granite-speech", "granite-speech-plus"])
def test_tiny_model_loads_back_offline(tmp_path_factory, name):
    from transformers import AutoConfig, AutoProcessor, GPT2Tokenizer, GraniteSpeechProcessor

    family = family_named(name)
    directory = family.directory(tmp_path_factory)
    processor = AutoProcessor.from_pretrained(directory)
    assert isinstance(processor, GraniteSpeechProcessor) and isinstance(processor.tokenizer, GPT2Tokenizer)
    assert processor.audio_token == AUDIO_TOKEN
    assert (AutoConfig.from_pretrained(directory).model_type,) == family.model_types
    model = speech_lm_class(family.adapter_class.entry.model_class, name).from_pretrained(directory)
    tokenizer = processor.tokenizer
    assert model.config.audio_token_id == tokenizer.convert_tokens_to_ids(AUDIO_TOKEN)
    for token in (AUDIO_TOKEN, "<|start_of_role|>", END):
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [tokenizer.convert_tokens_to_ids(token)]
    assert tokenizer.bos_token == tokenizer.eos_token == tokenizer.pad_token == END
    assert_trained_bpe(tokenizer)
