"""Model adapters: how one family of models scores K continuations of one context.

The model API is one declared, batch-first call, as lm-evaluation-harness's ``loglikelihood``:
:meth:`Adapter.loglikelihood` takes :class:`ScoreRequest` records (item, mode, prompt) and returns,
per request, one :class:`CandidateScore` per candidate: the mean token NLL of the candidate's tokens
given the context, and the token count. An adapter declares what it scores (``modes``,
``prompt_styles``, ``takes_options``) on its class, so they are known before a model loads.
Adapters register with :func:`register_adapter`; ``--model`` strings pick one
(``cascade:ASR+LM``) or ``--adapter`` names it. Adding a model family (Baichuan-Audio, Kimi-Audio,
...) is one new file here: a subclass of :class:`Adapter` that implements ``identity()`` and
``score_items()`` (the items of one mode and prompt, in one batch), registered.
"""

from __future__ import annotations

import abc
import difflib
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

from s2sbench.errors import EngineError
from s2sbench.profiles import LanguageProfile


@dataclass(frozen=True)
class ScoreItem:
    """What a model sees of an item: texts, and audio as absolute paths when spoken."""

    id: str
    subset: str
    lang: str
    context: str
    candidates: list[str]
    answer: int
    context_audio: str | None = None
    candidate_audio: list[str] | None = None
    facets: dict[str, Any] | None = None  # what the item is besides its texts, for breakdowns (inputs.item_facets)


@dataclass(frozen=True)
class CandidateScore:
    loss: float  # mean token NLL of the candidate given the context
    n_tokens: int
    logprob: float | None = None  # the summed log-likelihood (None: -loss * n_tokens)

    @property
    def summed(self) -> float:
        return self.logprob if self.logprob is not None else -self.loss * self.n_tokens


@dataclass(frozen=True)
class Prompt:
    """The wording around the parts, from the language profile (``--template`` overrides)."""

    text_prefix: str = ""
    speech_prefix: str = ""
    separator: str = " "
    style: str = "raw"  # raw: S2SBench's wording; chat: the context as the user's turn of the model's chat template (chat.py)

    @classmethod
    def from_profile(cls, profile: LanguageProfile, matched: bool = False, style: str = "raw") -> Prompt:
        """``matched``: the same prefix in both modes, so t2t and s2t differ only in modality."""
        text_prefix = profile.speech_prefix if matched else profile.text_prefix
        return cls(text_prefix=text_prefix, speech_prefix=profile.speech_prefix, separator=profile.separator, style=style)

    @property
    def chat(self) -> bool:
        return self.style == "chat"

    @property
    def candidate_separator(self) -> str:
        """What precedes each candidate: the profile's separator, or nothing for an assistant's reply (chat)."""
        return "" if self.chat else self.separator


@dataclass(frozen=True)
class AdapterSpec:
    model: str
    device: str = "auto"
    dtype: str = "auto"  # auto: bfloat16 on GPU, float32 on CPU
    options: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ScoreRequest:
    """One item to score in one mode under one prompt."""

    item: ScoreItem
    mode: str
    prompt: Prompt


class Adapter(abc.ABC):
    """A model family's scorer. The one entry point is :meth:`loglikelihood`; a family implements
    :meth:`score_items` (its shared-prefix batch over items of one mode and prompt) and :meth:`identity`,
    and declares on its class what it scores."""

    modes: ClassVar[tuple[str, ...]]  # the modes it scores (t2t, s2t, s2s)
    prompt_styles: ClassVar[tuple[str, ...]] = ("raw",)  # the --prompt-style values it scores
    takes_options: ClassVar[tuple[str, ...]] = ()  # the AdapterSpec.options keys it reads besides bos
    auto_for: ClassVar[str] = "-"  # what --adapter auto picks it for, when it claims no config model_type

    @abc.abstractmethod
    def identity(self) -> dict[str, Any]:
        """What a run records of the adapter and its model (adapter name first)."""

    @abc.abstractmethod
    def score_items(self, items: list[ScoreItem], mode: str, prompt: Prompt) -> list[list[CandidateScore]]:
        """Scores of ``items``, all in ``mode`` under ``prompt``, in order: as few forwards as the family allows."""

    def check_prompt_style(self, style: str) -> None:
        """Before any item: whether the loaded model can score ``style``; a family whose styles need
        more than its class declares (the chat style: a chat template) says so here."""
        if style not in self.prompt_styles:
            raise EngineError(f"{self.identity()['adapter']} scores only --prompt-style {', '.join(self.prompt_styles)}")

    def loglikelihood(self, requests: Sequence[ScoreRequest]) -> list[list[CandidateScore]]:
        """Per request, in order, one score per candidate. Requests that share a mode and a prompt are
        scored together, in the order they first appear, so a batch of one language is one call."""
        groups: dict[tuple[str, Prompt], list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault((request.mode, request.prompt), []).append(index)
        results: list[list[CandidateScore]] = [[] for _ in requests]
        for (mode, prompt), indices in groups.items():
            for index, scores in zip(indices, self.score_items([requests[index].item for index in indices], mode, prompt), strict=True):
                results[index] = scores
        return results

    def score(self, item: ScoreItem, mode: str, prompt: Prompt) -> list[CandidateScore]:
        """One item's scores: :meth:`loglikelihood` of one request."""
        return self.loglikelihood([ScoreRequest(item, mode, prompt)])[0]


_ADAPTERS: dict[str, Callable[[AdapterSpec], Adapter]] = {}
_MODEL_TYPES: dict[str, str] = {}  # config model_type -> the adapter ``auto`` picks for it
# The adapter modules, imported (registering their adapters) the first time the registry is read, not
# when this package is: each imports this package, which is then whole, and importing the package
# does not import every model family.
ADAPTER_MODULES = ("causal_lm", "cascade", "qwen2_audio", "audio_flamingo3", "qwen2_5_omni", "qwen3_omni", "granite_speech",
                   "phi4_multimodal", "gemma3n", "voxtral", "moshi")
_LOADED: list[bool] = []
PLUGIN_GROUP = "s2sbench.adapters"  # other packages' adapters: an entry point naming the module that registers them


def register_adapter(name: str, model_types: tuple[str, ...] = ()) -> Callable:
    """Register the decorated factory as adapter ``name``, which ``--adapter auto`` picks for models
    whose config says one of ``model_types``."""
    def decorate(factory: Callable[[AdapterSpec], Adapter]) -> Callable[[AdapterSpec], Adapter]:
        _ADAPTERS[name] = factory
        _MODEL_TYPES.update(dict.fromkeys(model_types, name))
        return factory

    return decorate


def _registry() -> dict[str, Callable[[AdapterSpec], Adapter]]:
    """Every adapter by name, the adapter modules imported on the first call."""
    if not _LOADED:
        _LOADED.append(True)
        for module in ADAPTER_MODULES:
            importlib.import_module(f"{__name__}.{module}")
        for entry in metadata.entry_points(group=PLUGIN_GROUP):
            entry.load()  # importing the plugin's module registers its adapters
    return _ADAPTERS


def model_types() -> dict[str, str]:
    """Config model_type -> the adapter ``--adapter auto`` picks for it."""
    _registry()
    return dict(_MODEL_TYPES)


def adapters() -> list[str]:
    return sorted(_registry())


def resolve_adapter(spec: AdapterSpec, name: str = "auto", reference: Any = None) -> str:
    """The adapter ``name``, or with ``auto``: ``cascade`` for ``cascade:...`` models, the text causal
    LM for a GGUF file, else the adapter that claims the model_type of the model's config (speech
    LLMs), else the text causal LM. ``reference`` is the model's
    :class:`~s2sbench.scorer.model_ref.ModelRef` when it is resolved already; else ``auto`` resolves
    it, reading at most the model's config, never its weights: a model whose config cannot be read
    is refused in one line, never given a guessed family."""
    if name == "auto":
        from s2sbench.scorer.model_ref import resolve_model

        name = _family(reference or resolve_model(spec.model))
    if name not in _registry():
        close = difflib.get_close_matches(name, _registry(), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise EngineError(f"unknown adapter {name!r}; {hint}known: {', '.join(adapters())}")
    return name


def _family(reference: Any) -> str:
    """The adapter ``auto`` picks for a resolved model reference."""
    if reference.kind == "cascade":
        return "cascade"
    if reference.kind == "gguf":
        return "causal-lm"
    if reference.model_type is None:
        raise EngineError(f"{reference.text}: its config.json names no model_type, so --adapter auto cannot tell its family; name it with --adapter")
    # A model_type no adapter claims (a remote-code one among them) is the causal LM's, which loads it or says why not.
    return model_types().get(reference.model_type, "causal-lm")


def adapter_modes(name: str) -> tuple[str, ...] | None:
    """The modes adapter ``name`` scores, known before it loads a model (None when it says so only once loaded)."""
    modes = getattr(_registry()[name], "modes", None)
    return tuple(modes) if isinstance(modes, tuple) else None


def adapter_prompt_styles(name: str) -> tuple[str, ...]:
    """The ``--prompt-style`` values adapter ``name`` scores (its ``prompt_styles``; raw alone when it names none)."""
    return tuple(getattr(_registry()[name], "prompt_styles", ("raw",)))


def adapter_options(name: str) -> tuple[str, ...]:
    """The adapter-specific ``AdapterSpec.options`` keys adapter ``name`` reads (its ``takes_options``), besides ``bos``."""
    return tuple(getattr(_registry()[name], "takes_options", ()))


@dataclass(frozen=True)
class AdapterInfo:
    """What ``s2s adapters`` shows of one adapter, known without loading a model."""

    name: str
    modes: tuple[str, ...] | None  # None: said only once a model is loaded
    picked_for: str  # what ``--adapter auto`` picks it for


def adapter_infos() -> list[AdapterInfo]:
    """Every registered adapter, by name: its modes, and the config model_types (or, for an
    adapter that claims none, its ``auto_for`` description) that ``auto`` picks it for."""
    infos = []
    known = model_types()
    for name in adapters():
        claimed = sorted(model_type for model_type, adapter in known.items() if adapter == name)
        picked_for = ", ".join(claimed) or getattr(_registry()[name], "auto_for", "-")
        infos.append(AdapterInfo(name, adapter_modes(name), picked_for))
    return infos


def load_adapter(spec: AdapterSpec, name: str = "auto") -> Adapter:
    """The adapter chosen by :func:`resolve_adapter`, with its model loaded."""
    return _registry()[resolve_adapter(spec, name)](spec)
