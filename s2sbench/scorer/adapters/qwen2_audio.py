"""Qwen2-Audio (``Qwen2AudioForConditionalGeneration`` + ``Qwen2AudioProcessor``): t2t and s2t.

t2t scores ``separator + candidate`` after ``text_prefix + context``, exactly as the text causal LM
does, on Qwen2-Audio's own language model. s2t puts the context audio where the text context was:
``speech_prefix + <|audio_bos|><|AUDIO|><|audio_eos|>``, the ``<|AUDIO|>`` expanded by the processor
to one token per audio frame of the encoder (25 a second), then the same candidates. Each part is
tokenized separately, so a candidate's tokens never merge with what precedes it.

Scoring shares the prefix: the prefix (and in s2t the audio, encoded once per item) runs once with
the KV cache, the cache is expanded to the K candidates, and the candidates run through the language
model as one right-padded batch with explicit position ids. Qwen2-Audio's forward has no
``logits_to_keep``, so the LM head is applied here, to the scored positions only. Several items share
each forward (:meth:`Qwen2Audio.score_batch`): their prefixes right-padded, their clips encoded in one
call of the audio encoder, all their candidates in one batch.
:meth:`Qwen2Audio.naive_score` is S2SBench's procedure (per candidate, the audio featurized again and
one full forward of prefix, audio and candidate, batch 1), the reference the shared path is tested
against.

Qwen2-Audio hears at most 30 s: the processor pads every clip to a 30 s window and cuts longer ones
(a warning says so).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import MODEL_TYPES, AdapterSpec, CandidateScore, Prompt, ScoreItem, register_adapter
from s2sbench.scorer.adapters.causal_lm import resolve_device_dtype, right_pad, score_after_prefixes
from s2sbench.scorer.adapters.tokens import SequenceStart

SAMPLE_RATE = 16000  # Qwen2-Audio's feature extractor


def speech_lm_class(model_class: str, family: str) -> Any:
    """The transformers class named ``model_class``, or one clear line saying what to install."""
    try:
        import transformers

        return getattr(transformers, model_class)
    except (ImportError, AttributeError) as exc:
        raise EngineError(f"transformers with {family} is not installed ({exc}): pip install 's2sbench[score]'") from exc


def model_source(model: str) -> str:
    """A local directory as an absolute path (``~`` expanded); anything else as a hub id."""
    path = Path(model).expanduser()
    return str(path) if path.exists() else model


def loading_error(family: str, model: str, exc: Exception) -> EngineError:
    return EngineError(f"cannot load {family} {model!r}: {type(exc).__name__}: {exc}".splitlines()[0])


def load_speech_lm(model: str, device: str, dtype, model_class: str, family: str, processor_attributes: tuple[str, ...]):
    """(model, processor) of a transformers speech LLM from a hub id or a directory.

    ``model_class`` names the transformers class; ``processor_attributes`` are what its processor
    must have, so a wrong model fails here with one clear line.
    """
    network_class = speech_lm_class(model_class, family)
    from transformers import AutoProcessor

    source = model_source(model)
    try:
        processor = AutoProcessor.from_pretrained(source)
        network = network_class.from_pretrained(source, dtype=dtype).to(device).eval()
    except Exception as exc:
        raise loading_error(family, model, exc) from exc
    if not all(hasattr(processor, name) for name in processor_attributes):
        raise EngineError(f"{model!r}: its processor ({type(processor).__name__}) is not a {family} processor")
    return network, processor


def load_qwen2_audio(model: str, device: str, dtype):
    return load_speech_lm(model, device, dtype, "Qwen2AudioForConditionalGeneration", "Qwen2-Audio", ("feature_extractor", "tokenizer"))


def read_audio(path: str) -> Any:
    """A clip as float32 mono at 16 kHz."""
    import soundfile as sf

    from s2sbench.synth.postprocess import resample, to_float_mono

    samples, rate = sf.read(path, dtype="float32", always_2d=False)
    return resample(to_float_mono(samples), rate, SAMPLE_RATE)


class Qwen2Audio:
    """Also the base of adapters for models built the same way (a Qwen2 text model whose prompt
    holds audio tokens filled by an audio encoder): they override ``name``, ``family``, ``load``
    and, where their prompt differs, :meth:`encode_speech`."""

    name = "qwen2-audio"
    family = "Qwen2-Audio"  # in messages
    modes = ("t2t", "s2t")
    load = staticmethod(load_qwen2_audio)

    def __init__(self, spec: AdapterSpec):
        self.spec = spec
        self.device, self.dtype = resolve_device_dtype(spec)
        self.model, self.processor = self.load(spec.model, self.device, self.dtype)
        self.tokenizer = self.processor.tokenizer
        self.start = SequenceStart.of(self.tokenizer, spec.options.get("bos", "auto"))
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.decoder = self.model.model.language_model  # the text model (Qwen2Model): embeddings + layers + norm
        self.head = self.model.lm_head
        self.audio_markup = (
            getattr(self.processor, "audio_bos_token", "<|audio_bos|>")
            + getattr(self.processor, "audio_token", "<|AUDIO|>")
            + getattr(self.processor, "audio_eos_token", "<|audio_eos|>")
        )

    def identity(self) -> dict[str, Any]:
        return {"adapter": self.name, "model": self.spec.model, "dtype": str(self.dtype).replace("torch.", ""), "device": self.device, "bos": self.start.as_dict()}

    # Inputs ------------------------------------------------------------------------------------

    def encode_candidates(self, candidates: list[str], prompt: Prompt) -> list[list[int]]:
        continuations = [self.tokenizer(prompt.separator + text, add_special_tokens=False)["input_ids"] for text in candidates]
        if any(not c for c in continuations):
            raise EngineError("a candidate tokenizes to nothing")
        return continuations

    def encode_text(self, context: str, prompt: Prompt) -> list[int]:
        return self.start.before(self.tokenizer(prompt.text_prefix + context, add_special_tokens=False)["input_ids"])

    def encode_speech(self, item: ScoreItem, prompt: Prompt) -> dict[str, Any]:
        """The processor's inputs for ``speech_prefix`` + the context audio (ids with the audio
        tokens expanded, mel features of the 30 s window, its mask), on the model's device."""
        import torch

        if not item.context_audio:
            raise EngineError(f"{item.id}: s2t needs context audio; this item was not spoken")
        samples = read_audio(item.context_audio)
        window = self.processor.feature_extractor.n_samples
        if samples.size > window:
            seconds = samples.size / SAMPLE_RATE
            warnings.warn(f"{item.id}: context audio is {seconds:.1f} s; {self.family} hears only {window // SAMPLE_RATE} s", stacklevel=2)
        text = prompt.speech_prefix + self.audio_markup
        inputs = self.processor(text=text, audio=samples, sampling_rate=SAMPLE_RATE, return_tensors="pt")
        inputs["input_ids"] = torch.tensor([self.start.restart(inputs["input_ids"][0].tolist())])  # --bos, as in t2t
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
        return {
            "input_ids": inputs["input_ids"].to(self.device),
            "attention_mask": inputs["attention_mask"].to(self.device),
            "input_features": inputs["input_features"].to(self.device, self.dtype),
            "feature_attention_mask": inputs["feature_attention_mask"].to(self.device),
        }

    def collate(self, encoded: list[dict[str, Any]]) -> dict[str, Any]:
        """Several items' :meth:`encode_speech` inputs as one batch: the ids right-padded (so every
        real token keeps its position), the audio features and their masks stacked along the first
        axis in item order, as the processor stacks several clips (one row per clip, or per window)."""
        import torch

        ids, mask = right_pad([inputs["input_ids"][0].tolist() for inputs in encoded], self.pad_id, self.device)
        audio = {key: torch.cat([inputs[key] for inputs in encoded]) for key in encoded[0] if key not in ("input_ids", "attention_mask")}
        return {"input_ids": ids, "attention_mask": mask, **audio}

    # Shared-prefix scoring ---------------------------------------------------------------------

    def score(self, item: ScoreItem, mode: str, prompt: Prompt) -> list[CandidateScore]:
        return self.score_batch([item], mode, prompt)[0]

    def score_batch(self, items: list[ScoreItem], mode: str, prompt: Prompt) -> list[list[CandidateScore]]:
        """Several items at once: their prefixes (in s2t with their audio, the clips encoded in one
        call) right-padded in one forward, each prefix's cache row repeated for its K candidates,
        every candidate of the batch in one forward."""
        import torch

        if mode not in self.modes:
            raise EngineError(f"{self.name} cannot score mode {mode!r} (it scores {', '.join(self.modes)})")
        continuations = [self.encode_candidates(item.candidates, prompt) for item in items]
        with torch.inference_mode():
            if mode == "t2t":
                ids, mask = right_pad([self.encode_text(item.context, prompt) for item in items], self.pad_id, self.device)
                out = self.decoder(input_ids=ids, attention_mask=mask, use_cache=True)
            else:
                inputs = self.collate([self.encode_speech(item, prompt) for item in items])
                mask = inputs["attention_mask"]
                out = self.model.model(**inputs, use_cache=True)  # audio encoded once per item, merged into the prefix
            return score_after_prefixes(self.decoder, self.head, out, mask, continuations, self.pad_id)

    # Reference ---------------------------------------------------------------------------------

    def naive_score(self, item: ScoreItem, mode: str, prompt: Prompt, features_per_candidate: bool = True) -> list[CandidateScore]:
        """S2SBench's procedure: per candidate, the whole input made again (in s2t the audio read
        and its features extracted, as S2SBench's processor call does for every candidate) and one
        full forward of the whole model (prefix, audio encoder, candidate; logits at every position),
        batch 1. ``features_per_candidate=False`` prepares the audio once per item, so that only the
        model work differs from :meth:`score`."""
        import torch

        if mode not in self.modes:
            raise EngineError(f"{self.name} cannot score mode {mode!r} (it scores {', '.join(self.modes)})")
        continuations = self.encode_candidates(item.candidates, prompt)
        scores = []
        inputs: dict[str, Any] | None = None
        with torch.inference_mode():
            for continuation in continuations:
                if mode == "t2t":
                    inputs = {"input_ids": torch.tensor([self.encode_text(item.context, prompt)], device=self.device)}
                elif inputs is None or features_per_candidate:
                    inputs = self.encode_speech(item, prompt)
                prefix = inputs["input_ids"]
                ids = torch.cat([prefix, torch.tensor([continuation], device=self.device)], dim=1)
                out = self.model(**{**inputs, "input_ids": ids, "attention_mask": torch.ones_like(ids)})
                logits = out.logits[0, prefix.shape[1] - 1 : -1].float()
                nll = -torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(continuation, device=self.device).unsqueeze(1)).sum()
                scores.append(CandidateScore(loss=float(nll / len(continuation)), n_tokens=len(continuation), logprob=-float(nll)))
        return scores


register_adapter("qwen2-audio")(Qwen2Audio)
MODEL_TYPES["qwen2_audio"] = "qwen2-audio"
