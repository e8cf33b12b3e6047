"""Gemma 3n (``Gemma3nForConditionalGeneration`` + ``Gemma3nProcessor``, config ``gemma3n``): t2t and s2t.

t2t scores ``separator + candidate`` after ``text_prefix + context`` on Gemma 3n's own language
model, which starts text with ``<bos>`` as its tokenizer does. s2t puts ``speech_prefix +
<audio_soft_token>`` where the text context was, which the processor turns into Gemma 3n's audio
block, ``\\n\\n<start_of_audio>`` + 188 ``<audio_soft_token>`` + ``<end_of_audio>\\n\\n``, then the same
candidates. The block is 188 tokens for any clip: the conformer gives one frame per 160 ms (30 s:
188) and the model fills the tokens past the clip's last frame with the embedding of its last
audio token, so the language model sees a clip as a fixed-size block whatever its length. Gemma 3n
hears at most 30 s (its feature extractor cuts longer clips; a warning says so).

The language model has parts other decoders lack, which scoring keeps exactly: per-layer inputs
looked up from the token ids (so the prefix and the candidates run from ids, never from
embeddings alone), layers that reuse earlier layers' keys and values, sliding-window layers, and a
soft cap on the final logits (``cap * tanh(logits / cap)``), which the head here applies as the
model's own forward does. Scoring is
:class:`~s2sbench.scorer.adapters.audio_llm.AudioLLM`'s shared-prefix scoring, with the prefixes of
a batch left-padded: the sliding-window layers' cache keeps only the last window of keys, which
for a short prefix right-padded beside a long one would be padding alone, and their window is
counted along the padded batch. In a batch, clips of different lengths are padded along time to
the longest with a mask that marks the padding, as the processor pads several clips.

The model always holds a vision tower (a timm MobileNet), built at load and never called in
scoring; transformers builds it only with timm (and timm needs torchvision): ``pip install
's2sbench[gemma3n]'``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters.audio_llm import AudioLLM, AudioLLMFamily, load_speech_lm, register_family
from s2sbench.scorer.adapters.causal_lm import left_pad

FAMILY = "Gemma 3n"
MODEL_CLASS = "Gemma3nForConditionalGeneration"


def load_gemma3n(model: str, device: str, dtype) -> tuple[Any, Any]:
    """(model, processor); one line naming the extra when timm, which builds its vision tower, is missing."""
    missing = [name for name in ("timm", "torchvision") if importlib.util.find_spec(name) is None]
    if missing:
        raise EngineError(f"{FAMILY} needs {' and '.join(missing)} (its model holds a timm vision tower): pip install 's2sbench[gemma3n]'")
    return load_speech_lm(model, device, dtype, MODEL_CLASS, FAMILY, GEMMA3N.processor_attributes)


GEMMA3N = AudioLLMFamily(
    name="gemma-3n",
    family=FAMILY,
    model_class=MODEL_CLASS,
    model_types=("gemma3n",),
    processor_attributes=("feature_extractor", "tokenizer", "audio_token", "full_audio_sequence"),
    markup=(("audio_token", "<audio_soft_token>"),),  # the processor expands it to the whole audio block
    feature_keys=("input_features", "input_features_mask"),
    hears=lambda processor: 30.0,  # the feature extractor's max_length: 480000 samples at 16 kHz
    load=load_gemma3n,
)


class SoftCappedHead:
    """The LM head followed by Gemma's final logit soft cap, as the model's forward applies it."""

    def __init__(self, head: Any, cap: float | None):
        self.head, self.cap = head, cap

    def __call__(self, hidden: Any) -> Any:
        import torch

        logits = self.head(hidden)
        return logits if not self.cap else torch.tanh(logits / self.cap) * self.cap


@register_family
class Gemma3n(AudioLLM):
    entry = GEMMA3N

    def text_model(self) -> tuple[Any, Any]:
        decoder, head = super().text_model()
        return decoder, SoftCappedHead(head, getattr(self.model.config.get_text_config(), "final_logit_softcapping", None))

    def run_text_prefixes(self, prefixes: list[list[int]]) -> tuple[Any, Any]:
        """The t2t prefixes left-padded, for the sliding-window layers (see the module)."""
        ids, mask, positions = left_pad(prefixes, self.pad_id, self.device)
        return self.decoder(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True), mask

    def collate(self, encoded: list[dict[str, Any]]) -> dict[str, Any]:
        """Several items' inputs as one batch: the ids left-padded (see the module), and the clips'
        features (frames x mel bins, as long as each clip) padded along time to the longest, their
        mask False there, as the processor pads several clips."""
        import torch

        ids, mask, positions = left_pad([inputs["input_ids"][0].tolist() for inputs in encoded], self.pad_id, self.device)
        width = max(inputs["input_features"].shape[1] for inputs in encoded)

        def pad(tensor: Any) -> Any:  # along time, the clip's frames first
            return torch.nn.functional.pad(tensor, (0, 0, 0, width - tensor.shape[1]) if tensor.ndim == 3 else (0, width - tensor.shape[1]))

        features = torch.cat([pad(inputs["input_features"]) for inputs in encoded])
        heard = torch.cat([pad(inputs["input_features_mask"]) for inputs in encoded])  # padding: False, not heard
        return {"input_ids": ids, "attention_mask": mask, "position_ids": positions, "input_features": features, "input_features_mask": heard}
