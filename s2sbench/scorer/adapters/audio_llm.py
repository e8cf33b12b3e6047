"""Audio LLMs whose prompt holds audio tokens filled by an audio encoder: one adapter, a table of families.

Qwen2-Audio, Audio Flamingo 3, the Qwen2.5-Omni and Qwen3-Omni thinkers, Granite Speech and
Phi-4-multimodal are built the same way: a text decoder (``model.model.language_model``; Phi-4's is
``model.model``) with an LM head (``model.lm_head``), and a processor
that turns a text holding an audio placeholder and a clip into the model's inputs, the placeholder
repeated once per output frame of the audio encoder, whose projected frames replace those tokens'
embeddings. They differ only in data, one :class:`AudioLLMFamily` each: the transformers class, what
the processor must have, the audio markup put in the prompt, how the processor is called, which of
its outputs the model takes, the sample rate, and how much audio the model hears.

t2t scores ``separator + candidate`` after ``text_prefix + context``, exactly as the text causal LM
does, on the family's own language model. s2t puts ``speech_prefix + markup`` where the text context
was (the markup: ``<|audio_bos|><|AUDIO|><|audio_eos|>`` for Qwen2-Audio, ``<sound>`` for AF3, ...),
the processor expanding the audio token, then the same candidates. Each part is tokenized separately,
so a candidate's tokens never merge with what precedes it.

Scoring shares the prefix: the prefix (and in s2t the audio, encoded once per item) runs once with
the KV cache, the cache is expanded to the K candidates, and the candidates run through the language
model as one right-padded batch with explicit position ids; the LM head is applied here, to the
scored positions only (Qwen2-Audio's forward has no ``logits_to_keep``). Several items share each
forward (:meth:`AudioLLM.score_items`): their prefixes right-padded, their clips encoded in one call
of the audio encoder, all their candidates in one batch. :meth:`AudioLLM.naive_score` is S2SBench's
procedure (per candidate, the audio featurized again and one full forward of prefix, audio and
candidate, batch 1), the reference the shared path is tested against.

Adding a family whose prompt works like these is one :class:`AudioLLMFamily` and a two-line class
registered with :func:`register_family`; a family that encodes audio differently overrides
:meth:`AudioLLM.encode_speech` or :meth:`AudioLLM.run_speech_prefixes`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import Adapter, AdapterSpec, CandidateScore, Prompt, ScoreItem, register_adapter
from s2sbench.scorer.adapters.causal_lm import resolve_device_dtype, right_pad, score_after_prefixes
from s2sbench.scorer.adapters.chat import PROMPT_STYLES, chat_prefix_ids, chat_prefix_text, has_chat_template, require_chat_template
from s2sbench.scorer.adapters.tokens import SequenceStart

SAMPLE_RATE = 16000  # every family here hears 16 kHz


@dataclass(frozen=True)
class AudioLLMFamily:
    """What sets one family of audio LLMs apart from the others: data, not code."""

    name: str  # the adapter's name (--adapter)
    family: str  # in messages
    model_class: str  # the transformers class
    model_types: tuple[str, ...]  # the config model_types that --adapter auto picks it for
    processor_attributes: tuple[str, ...]  # what its processor must have, so a wrong model fails at load
    markup: tuple[tuple[str, str], ...]  # the audio in the prompt: (processor attribute, its default), concatenated
    feature_keys: tuple[str, ...]  # the processor's audio outputs the model takes, the features first ("input_features")
    hears: Callable[[Any], float | None]  # seconds of audio the model hears, from its processor (None: no limit)
    processor_takes_lists: bool = False  # the processor is called with [text] and [clip]
    processor_takes_rate: bool = True  # the processor is told the sampling rate
    sample_rate: int = SAMPLE_RATE
    load: Callable[..., tuple[Any, Any]] | None = None  # (model, device, dtype) -> (model, processor); default: load_speech_lm
    text_model: str = "model.language_model"  # where the text decoder (embeddings, layers, norm) is, from the model


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


def read_audio(path: str, rate: int = SAMPLE_RATE) -> Any:
    """A clip as float32 mono at ``rate``."""
    import soundfile as sf

    from s2sbench.synth.postprocess import resample, to_float_mono

    samples, source_rate = sf.read(path, dtype="float32", always_2d=False)
    return resample(to_float_mono(samples), source_rate, rate)


class AudioLLM(Adapter):
    """The adapter of every :class:`AudioLLMFamily`; a family's class sets ``entry``."""

    entry: AudioLLMFamily
    modes = ("t2t", "s2t")
    prompt_styles = PROMPT_STYLES

    def __init__(self, spec: AdapterSpec):
        self.spec = spec
        self.device, self.dtype = resolve_device_dtype(spec)
        self.model, self.processor = self._load(spec.model)
        self.tokenizer = self.processor.tokenizer
        self.start = SequenceStart.of(self.tokenizer, spec.options.get("bos", "auto"))
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.decoder, self.head = self.text_model()
        self.audio_markup = "".join(getattr(self.processor, attribute, default) for attribute, default in self.entry.markup)
        self._check_audio_token()

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def family(self) -> str:
        return self.entry.family

    def _load(self, model: str) -> tuple[Any, Any]:
        if self.entry.load is not None:
            return self.entry.load(model, self.device, self.dtype)
        entry = self.entry
        return load_speech_lm(model, self.device, self.dtype, entry.model_class, entry.family, entry.processor_attributes)

    def text_model(self) -> tuple[Any, Any]:
        """(decoder, head): the text model that scores the candidates (embeddings + layers + norm,
        returning ``last_hidden_state``) and its LM head; a family laid out otherwise overrides this."""
        return attrgetter(self.entry.text_model)(self.model), self.model.lm_head

    def _check_audio_token(self) -> None:
        """The processor's audio token must be the one the model's encoder output replaces: a
        mismatch would score the audio tokens' own embeddings, silently."""
        token = getattr(self.processor, "audio_token", None)
        config = self.model.config
        expected = getattr(config, "audio_token_id", None)
        if expected is None:
            expected = getattr(config, "audio_token_index", None)
        if expected is None:  # Phi-4-multimodal keeps it with its audio encoder's config
            expected = getattr(getattr(config, "audio_config", None), "audio_token_id", None)
        if token is None or expected is None:
            return
        found = self.tokenizer.convert_tokens_to_ids(token)
        if found != expected:
            raise EngineError(f"{self.spec.model!r}: the processor's audio token {token!r} is {found}, the model's {expected}")

    def identity(self) -> dict[str, Any]:
        return {"adapter": self.name, "model": self.spec.model, "dtype": str(self.dtype).replace("torch.", ""), "device": self.device, "bos": self.start.as_dict()}

    # Inputs ------------------------------------------------------------------------------------

    def check_prompt_style(self, style: str) -> None:
        """Before any item: the chat style needs a chat template (the processor's or the tokenizer's)."""
        if style == "chat" and not has_chat_template(self.processor):
            require_chat_template(self.tokenizer, self.spec.model)

    def encode_candidates(self, candidates: list[str], prompt: Prompt) -> list[list[int]]:
        continuations = [self.tokenizer(prompt.candidate_separator + text, add_special_tokens=False)["input_ids"] for text in candidates]
        if any(not c for c in continuations):
            raise EngineError("a candidate tokenizes to nothing")
        return continuations

    def encode_text(self, context: str, prompt: Prompt) -> list[int]:
        if prompt.chat:
            return chat_prefix_ids(self.tokenizer, prompt.text_prefix + context)
        return self.start.before(self.tokenizer(prompt.text_prefix + context, add_special_tokens=False)["input_ids"])

    def speech_text(self, item: ScoreItem, prompt: Prompt) -> str:
        """The text the processor expands the audio in: ``speech_prefix`` and the family's audio markup,
        or in the chat style the user's turn holding them, rendered by the processor's chat template
        (typed parts: the text, then the clip) or else the tokenizer's (the text and the markup)."""
        if not prompt.chat:
            return prompt.speech_prefix + self.audio_markup
        if has_chat_template(self.processor):
            parts = [{"type": "text", "text": prompt.speech_prefix}] if prompt.speech_prefix else []
            return chat_prefix_text(self.processor, [*parts, {"type": "audio", "audio": item.context_audio, "path": item.context_audio}])
        return chat_prefix_text(self.tokenizer, prompt.speech_prefix + self.audio_markup)

    def context_audio(self, item: ScoreItem) -> str:
        """The path of the item's context clip; an error naming the item when it was not spoken."""
        if not item.context_audio:
            raise EngineError(f"{item.id}: s2t needs context audio; this item was not spoken")
        return item.context_audio

    def read_context_audio(self, item: ScoreItem) -> Any:
        """The item's context clip at the family's rate; a warning when it is longer than the model hears."""
        rate = self.entry.sample_rate
        samples = read_audio(self.context_audio(item), rate)
        limit = self.entry.hears(self.processor)
        if limit and samples.size > limit * rate:
            warnings.warn(f"{item.id}: context audio is {samples.size / rate:.1f} s; {self.family} hears only {limit:g} s", stacklevel=3)
        return samples

    def encode_speech(self, item: ScoreItem, prompt: Prompt) -> dict[str, Any]:
        """The processor's inputs for ``speech_prefix`` + the context audio (ids with the audio
        tokens expanded, the audio features and their mask), on the model's device."""
        import torch

        samples = self.read_context_audio(item)
        text = self.speech_text(item, prompt)
        kwargs: dict[str, Any] = {"sampling_rate": self.entry.sample_rate} if self.entry.processor_takes_rate else {}
        if self.entry.processor_takes_lists:
            inputs = self.processor(text=[text], audio=[samples], return_tensors="pt", **kwargs)
        else:
            inputs = self.processor(text=text, audio=samples, return_tensors="pt", **kwargs)
        ids = inputs["input_ids"][0].tolist()
        ids = torch.tensor([self.start.template(ids) if prompt.chat else self.start.restart(ids)])  # --bos, as in t2t; a template starts itself
        features = {key: inputs[key].to(self.device) for key in self.entry.feature_keys}
        first = self.entry.feature_keys[0]  # the audio features themselves, in the model's dtype
        features[first] = features[first].to(self.dtype)
        return {"input_ids": ids.to(self.device), "attention_mask": torch.ones_like(ids).to(self.device), **features}

    def collate(self, encoded: list[dict[str, Any]]) -> dict[str, Any]:
        """Several items' :meth:`encode_speech` inputs as one batch: the ids right-padded (so every
        real token keeps its position), the audio features and their masks stacked along the first
        axis in item order, as the processor stacks several clips (one row per clip, or per window)."""
        import torch

        ids, mask = right_pad([inputs["input_ids"][0].tolist() for inputs in encoded], self.pad_id, self.device)
        audio = {key: torch.cat([inputs[key] for inputs in encoded]) for key in encoded[0] if key not in ("input_ids", "attention_mask")}
        return {"input_ids": ids, "attention_mask": mask, **audio}

    def run_text_prefixes(self, prefixes: list[list[int]]) -> tuple[Any, Any]:
        """(output with the cache, attention mask) of one forward of several items' t2t prefixes, right-padded."""
        ids, mask = right_pad(prefixes, self.pad_id, self.device)
        return self.decoder(input_ids=ids, attention_mask=mask, use_cache=True), mask

    def run_speech_prefixes(self, encoded: list[dict[str, Any]]) -> tuple[Any, Any]:
        """(output with the cache, attention mask) of one forward of several items' s2t prefixes,
        their clips through the audio encoder in one call."""
        inputs = self.collate(encoded)
        return self.model.model(**inputs, use_cache=True), inputs["attention_mask"]

    # Shared-prefix scoring ---------------------------------------------------------------------

    def check_mode(self, mode: str) -> None:
        if mode not in self.modes:
            raise EngineError(f"{self.name} cannot score mode {mode!r} (it scores {', '.join(self.modes)})")

    def score_items(self, items: list[ScoreItem], mode: str, prompt: Prompt) -> list[list[CandidateScore]]:
        """Several items at once: their prefixes (in s2t with their audio) right-padded in one
        forward, each prefix's cache row repeated for its K candidates, every candidate of the
        batch in one forward."""
        import torch

        self.check_mode(mode)
        continuations = [self.encode_candidates(item.candidates, prompt) for item in items]
        with torch.inference_mode():
            if mode == "t2t":
                out, mask = self.run_text_prefixes([self.encode_text(item.context, prompt) for item in items])
            else:
                out, mask = self.run_speech_prefixes([self.encode_speech(item, prompt) for item in items])
            return score_after_prefixes(self.decoder, self.head, out, mask, continuations, self.pad_id)

    # Reference ---------------------------------------------------------------------------------

    def naive_score(self, item: ScoreItem, mode: str, prompt: Prompt, features_per_candidate: bool = True) -> list[CandidateScore]:
        """S2SBench's procedure: per candidate, the whole input made again (in s2t the audio read
        and its features extracted, as S2SBench's processor call does for every candidate) and one
        full forward of the whole model (prefix, audio encoder, candidate; logits at every position),
        batch 1. ``features_per_candidate=False`` prepares the audio once per item, so that only the
        model work differs from :meth:`score`."""
        import torch

        self.check_mode(mode)
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


class SpeechLoRA(AudioLLM):
    """A family whose checkpoint carries a LoRA for audio prompts (Granite Speech, Phi-4-multimodal):
    on for s2t and off for t2t, as the family's own ``generate`` uses it. transformers loads it only
    with ``peft``; without it, s2t on such a checkpoint is refused with one line (t2t scores)."""

    lora_name: str | None = None  # the adapter to switch on (None: the checkpoint's only one)

    def __init__(self, spec: AdapterSpec):
        super().__init__(spec)
        self.lora_loaded = bool(getattr(self.model, "_hf_peft_config_loaded", False))
        self.lora_expected = self.has_lora()

    def has_lora(self) -> bool:
        """Whether the checkpoint says it has a LoRA for audio prompts."""
        raise NotImplementedError

    def lora_source(self) -> str:
        """Where the checkpoint says so, for the message that asks for peft."""
        raise NotImplementedError

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "lora": self.lora_loaded}  # whether s2t ran with the checkpoint's LoRA

    def use_lora_for(self, mode: str) -> None:
        self.check_mode(mode)
        if self.lora_loaded and mode == "s2t":
            if self.lora_name is not None:
                self.model.set_adapter(self.lora_name)
            self.model.enable_adapters()
        elif self.lora_loaded:
            self.model.disable_adapters()
        elif self.lora_expected and mode == "s2t":
            raise EngineError(f"{self.spec.model!r}: {self.lora_source()} for audio prompts, "
                              f"which transformers loads only with peft: pip install 'peft>={min_peft_version()}' (t2t scores without it)")

    def score_items(self, items: list[ScoreItem], mode: str, prompt: Prompt) -> list[list[CandidateScore]]:
        self.use_lora_for(mode)
        return super().score_items(items, mode, prompt)

    def naive_score(self, item: ScoreItem, mode: str, prompt: Prompt, features_per_candidate: bool = True) -> list[CandidateScore]:
        self.use_lora_for(mode)
        return super().naive_score(item, mode, prompt, features_per_candidate)


def min_peft_version() -> str:
    """The oldest peft the installed transformers loads adapters with."""
    try:
        from transformers.integrations.peft import MIN_PEFT_VERSION
    except ImportError:  # a transformers that names none
        return "0"
    return MIN_PEFT_VERSION


def register_family(adapter: type[AudioLLM]) -> type[AudioLLM]:
    """Register ``adapter`` (a class setting ``entry``) under its family's name, and for ``auto``
    under its config model_types."""
    return register_adapter(adapter.entry.name, adapter.entry.model_types)(adapter)
