"""``cascade:ASR+LM``: recognize the context audio, then score with a text LM.

``cascade:faster-whisper:base+HuggingFaceTB/SmolLM2-135M`` transcribes each context clip with the
validate stage's ASR (``faster-whisper:base``) and scores the candidates after the transcript with
the causal LM, exactly as in t2t. The gap between its t2t and s2t isolates what recognition loses.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import soundfile as sf

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import AdapterSpec, CandidateScore, Prompt, ScoreItem, register_adapter
from s2sbench.scorer.adapters.causal_lm import CausalLM


def parse_cascade(model: str) -> tuple[str, str]:
    """``cascade:ENGINE:MODEL+LM`` -> (``ENGINE:MODEL``, ``LM``)."""
    body = model.removeprefix("cascade:")
    asr, plus, lm = body.partition("+")
    if not plus or not asr or not lm:
        raise EngineError(f"--model {model!r}: expected cascade:ASR_ENGINE:ASR_MODEL+LM (e.g. cascade:faster-whisper:base+HuggingFaceTB/SmolLM2-135M)")
    return asr, lm


class Cascade:
    modes = ("t2t", "s2t")

    def __init__(self, spec: AdapterSpec):
        from s2sbench.validate.asr import ASRSpec, load_recognizer

        asr, lm = parse_cascade(spec.model)
        self.asr_spec = ASRSpec.parse(asr, device=spec.device)
        self.recognizer = load_recognizer(self.asr_spec)
        self.lm = CausalLM(replace(spec, model=lm))
        self.spec = spec

    def identity(self) -> dict[str, Any]:
        return {"adapter": "cascade", "model": self.spec.model, "asr": self.recognizer.identity(), "lm": self.lm.identity()}

    def transcript(self, item: ScoreItem) -> str:
        if not item.context_audio:
            raise EngineError(f"{item.id}: s2t needs context audio; this item was not spoken")
        samples, rate = sf.read(item.context_audio, dtype="float32")
        return self.recognizer.transcribe(samples, rate, item.lang)

    def score(self, item: ScoreItem, mode: str, prompt: Prompt) -> list[CandidateScore]:
        if mode == "s2t":
            item = replace(item, context=self.transcript(item))
        return self.lm.score(item, "t2t", prompt)


register_adapter("cascade")(Cascade)
