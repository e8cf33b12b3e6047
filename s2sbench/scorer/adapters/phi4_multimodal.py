"""Phi-4-multimodal (``Phi4MultimodalForCausalLM``, config ``phi4_multimodal``): t2t and s2t, audio only.

The transformers-format checkpoint (``phi4_multimodal``; the remote-code one, ``phi4mm``, is not
this class). Its text model is ``model.model`` itself (embeddings, layers, norm), whose input
embeddings take the audio encoder's projected frames in place of the audio tokens; the vision tower
is loaded with the weights and never called.

t2t scores ``separator + candidate`` after ``text_prefix + context`` on the base language model.
s2t puts ``speech_prefix + <|endoftext11|>`` (the tokenizer's ``audio_token``) where the text
context was, the token repeated once per output frame of the audio encoder (one per 8 mel frames of
10 ms, 12.5 a second: ``audio_embed_sizes``), then the same candidates. Scoring is
:class:`~s2sbench.scorer.adapters.audio_llm.AudioLLM`'s shared-prefix scoring with one difference in
batches: every clip goes through the encoder in a call of its own. The conformer's convolutions have
no padding mask, so a clip padded to a longer one's length would be encoded with its padding (the
processor's own padded batch moved losses by up to 0.47 on the tiny test model); the prefixes then
run right-padded in one forward as elsewhere.

``Phi4MultimodalProcessor`` cannot be built without torchvision (its image processor), so
:class:`Phi4AudioProcessor` does the audio half of its work with the checkpoint's
``Phi4MultimodalFeatureExtractor`` and tokenizer. There is no window: the whole clip is heard, up to
the text model's ``original_max_position_embeddings`` (4096) positions; past them LongRoPE switches
to its long factors for a whole forward, which scoring the prefix and the candidates in two
forwards does not reproduce.

The released checkpoint's speech LoRA (``speech-lora/``, loaded with peft) is what the model was
trained to hear audio with; text prompts run without it. So t2t runs with it off and s2t with it
on, and s2t on such a checkpoint without peft is refused with a line saying what to install (t2t
scores without it).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters.audio_llm import AudioLLMFamily, SpeechLoRA, loading_error, model_source, register_family, speech_lm_class
from s2sbench.scorer.adapters.causal_lm import right_pad

FAMILY = "Phi-4-multimodal"
MODEL_TYPE = "phi4_multimodal"
MODEL_CLASS = "Phi4MultimodalForCausalLM"
SPEECH_LORA = "speech-lora"  # the released checkpoint's subfolder of the speech LoRA
LORA_NAME = "speech"


class Phi4AudioProcessor:
    """The audio half of ``Phi4MultimodalProcessor``: a clip's log-mel features and its encoder
    output count (``audio_embed_sizes``), and the text with its audio token repeated that many
    times, tokenized."""

    def __init__(self, audio_processor: Any, tokenizer: Any):
        self.audio_processor = audio_processor
        self.tokenizer = tokenizer
        self.audio_token = getattr(tokenizer, "audio_token", None)
        if self.audio_token is None:
            raise EngineError(f"its tokenizer ({type(tokenizer).__name__}) names no audio_token: not a {FAMILY} tokenizer")

    def __call__(self, text: str, audio: Any, sampling_rate: int, return_tensors: str = "pt") -> dict[str, Any]:
        features = self.audio_processor([audio], sampling_rate=sampling_rate, return_tensors=return_tensors)
        frames = int(features["audio_embed_sizes"][0])
        inputs = self.tokenizer(text.replace(self.audio_token, self.audio_token * frames), return_tensors=return_tensors)
        return {**inputs, "audio_input_features": features["audio_input_features"], "audio_embed_sizes": features["audio_embed_sizes"]}


def has_speech_lora(source: str) -> bool:
    """Whether the checkpoint (a directory or a hub id) has the released speech LoRA's subfolder."""
    from transformers.utils import cached_file

    found = cached_file(source, f"{SPEECH_LORA}/adapter_config.json", _raise_exceptions_for_missing_entries=False,
                        _raise_exceptions_for_connection_errors=False)
    return found is not None


def load_phi4_multimodal(model: str, device: str, dtype) -> tuple[Any, Phi4AudioProcessor]:
    """(model, audio processor) from a hub id or a directory; the speech LoRA loaded when the
    checkpoint has one and peft is installed."""
    network_class = speech_lm_class(MODEL_CLASS, FAMILY)
    from transformers import AutoConfig, AutoFeatureExtractor, AutoTokenizer

    source = model_source(model)
    try:
        config = AutoConfig.from_pretrained(source)
    except Exception as exc:
        raise loading_error(FAMILY, model, exc) from exc
    if config.model_type != MODEL_TYPE:
        raise EngineError(f"{model!r}: its config is a {config.model_type!r}, not a {FAMILY} checkpoint ({MODEL_TYPE})")
    try:
        network = network_class.from_pretrained(source, dtype=dtype)
        processor = Phi4AudioProcessor(AutoFeatureExtractor.from_pretrained(source), AutoTokenizer.from_pretrained(source))
        if has_speech_lora(source) and importlib.util.find_spec("peft") is not None:
            network.load_adapter(source, adapter_name=LORA_NAME, adapter_kwargs={"subfolder": SPEECH_LORA})
    except EngineError:
        raise
    except Exception as exc:
        raise loading_error(FAMILY, model, exc) from exc
    return network.to(device).eval(), processor


PHI4_MULTIMODAL = AudioLLMFamily(
    name="phi-4-multimodal",
    family=FAMILY,
    model_class=MODEL_CLASS,
    model_types=(MODEL_TYPE,),
    processor_attributes=("audio_processor", "tokenizer", "audio_token"),
    markup=(("audio_token", "<|endoftext11|>"),),
    feature_keys=("audio_input_features", "audio_embed_sizes"),
    hears=lambda processor: None,  # no window: the whole clip, up to the text model's positions
    load=load_phi4_multimodal,
    text_model="model",
)


@register_family
class Phi4Multimodal(SpeechLoRA):
    entry = PHI4_MULTIMODAL

    lora_name = LORA_NAME

    def has_lora(self) -> bool:
        return has_speech_lora(model_source(self.spec.model))

    def lora_source(self) -> str:
        return f"it has a speech LoRA ({SPEECH_LORA}/)"

    def run_speech_prefixes(self, encoded: list[dict[str, Any]]) -> tuple[Any, Any]:
        """One forward of several items' s2t prefixes, each clip encoded on its own (see the module)."""
        import torch

        network = self.model.model
        rows = []
        for inputs in encoded:  # the model's own merge of one clip's frames into its prefix's embeddings
            ids = inputs["input_ids"]
            embeddings = network.embed_tokens_extend(
                ids, network.embed_tokens(ids), audio_input_features=inputs["audio_input_features"], audio_embed_sizes=inputs["audio_embed_sizes"]
            )
            rows.append(embeddings[0])
        ids, mask = right_pad([inputs["input_ids"][0].tolist() for inputs in encoded], self.pad_id, self.device)
        padded = torch.stack([torch.nn.functional.pad(row, (0, 0, 0, ids.shape[1] - row.shape[0])) for row in rows])  # padding: masked
        return self.decoder(inputs_embeds=padded, attention_mask=mask, use_cache=True), mask
