"""``cascade:ASR+LM``: recognize the speech, then score with a text LM.

``cascade:faster-whisper:base+HuggingFaceTB/SmolLM2-135M`` transcribes each context clip with the
validate stage's ASR (``faster-whisper:base``) and scores the candidates after the transcript with
the causal LM, exactly as in t2t. The gap between its t2t and s2t isolates what recognition loses.
In s2s, for builds whose candidates are spoken too (``s2s build --speak all``, the default), the
candidates' clips are transcribed as well and the LM scores the transcribed candidates.

A batch of items is recognized in one ``transcribe_batch`` call per language, then scored by the
LM's batched shared-prefix path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import soundfile as sf

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import Adapter, AdapterSpec, CandidateScore, Prompt, ScoreItem, register_adapter
from s2sbench.scorer.adapters.causal_lm import CausalLM
from s2sbench.scorer.adapters.chat import PROMPT_STYLES


def parse_cascade(model: str) -> tuple[str, str]:
    """``cascade:ENGINE:MODEL+LM`` -> (``ENGINE:MODEL``, ``LM``)."""
    body = model.removeprefix("cascade:")
    asr, plus, lm = body.partition("+")
    if not plus or not asr or not lm:
        raise EngineError(f"--model {model!r}: expected cascade:ASR_ENGINE:ASR_MODEL+LM (e.g. cascade:faster-whisper:base+HuggingFaceTB/SmolLM2-135M)")
    return asr, lm


class Cascade(Adapter):
    modes = ("t2t", "s2t", "s2s")
    prompt_styles = PROMPT_STYLES
    auto_for = "--model cascade:ASR+LM"

    def __init__(self, spec: AdapterSpec):
        from s2sbench.validate.asr import ASRSpec, load_recognizer

        asr, lm = parse_cascade(spec.model)
        self.asr_spec = ASRSpec.parse(asr, device=spec.device)
        self.recognizer = load_recognizer(self.asr_spec)
        self.lm = CausalLM(replace(spec, model=lm))
        self.spec = spec
        self.heard: dict[tuple[str, str], ScoreItem] = {}  # (id, mode) -> the item as the LM read it, for --log-samples

    def check_prompt_style(self, style: str) -> None:
        self.lm.check_prompt_style(style)  # the LM reads the transcripts

    def identity(self) -> dict[str, Any]:
        return {"adapter": "cascade", "model": self.spec.model, "asr": self.recognizer.identity(), "lm": self.lm.identity()}

    def score_items(self, items: list[ScoreItem], mode: str, prompt: Prompt) -> list[list[CandidateScore]]:
        if mode not in self.modes:
            raise EngineError(f"cascade cannot score mode {mode!r} (it scores {', '.join(self.modes)})")
        texts = self.as_text(items, mode)
        self.heard.update(((text.id, mode), text) for text in texts)
        return self.lm.score_items(texts, "t2t", prompt)

    def as_text(self, items: list[ScoreItem], mode: str) -> list[ScoreItem]:
        """``items`` as the LM reads them: in s2t the context is its clip's transcript, in s2s the
        candidates are their clips' transcripts too."""
        if mode == "t2t":
            return items
        clips = [_clips(item, mode) for item in items]
        transcripts = iter(self.transcribe([(path, item.lang) for item, paths in zip(items, clips) for path in paths]))
        texts = []
        for item, paths in zip(items, clips):
            context = next(transcripts)
            candidates = [next(transcripts) for _ in paths[1:]] if mode == "s2s" else item.candidates
            texts.append(replace(item, context=context, candidates=candidates))
        return texts

    def transcribe(self, clips: list[tuple[str, str]]) -> list[str]:
        """Transcripts of (path, language) clips, in order; each language's clips in one batch."""
        transcripts: dict[int, str] = {}
        for lang in dict.fromkeys(lang for _, lang in clips):
            indices = [index for index, (_, clip_lang) in enumerate(clips) if clip_lang == lang]
            audio = [sf.read(clips[index][0], dtype="float32") for index in indices]
            transcripts.update(zip(indices, self.recognizer.transcribe_batch(audio, lang)))
        return [transcripts[index] for index in range(len(clips))]


def _clips(item: ScoreItem, mode: str) -> list[str]:
    """The clips ``mode`` hears of ``item``: its context's, then in s2s its candidates'."""
    if not item.context_audio:
        raise EngineError(f"{item.id}: {mode} needs context audio; this item was not spoken")
    if mode != "s2s":
        return [item.context_audio]
    if not item.candidate_audio:
        raise EngineError(f"{item.id}: s2s needs spoken candidates; this build spoke only the context (build with --speak all)")
    return [item.context_audio, *item.candidate_audio]


register_adapter("cascade")(Cascade)
