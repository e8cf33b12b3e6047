"""An lm-evaluation-harness model backed by s2sbench's adapters: ``--model s2sbench``.

Importing this module registers :class:`S2SBenchLM` as ``s2sbench`` in lm-eval's model registry;
``python -m s2sbench.lm_eval ARGS`` is lm-eval's own command line with it registered (:func:`main`).

lm-eval asks a model for one log-likelihood per (context, continuation) request. A
``multiple_choice`` task makes K of them per doc, and a task with ``doc_to_audio`` appends the doc's
audio to each one's arguments (lm-eval 0.4.13, ``api/task.py``: ``(ctx, continuation, {"audio":
doc[column]})``, the audio as the dataset decodes it). :class:`S2SBenchLM` turns the K requests of
one doc back into one :class:`~s2sbench.scorer.adapters.ScoreItem` (their context as the item's, or
the clip they carry; their continuations as its candidates) and scores the items through the same
:meth:`~s2sbench.scorer.adapters.Adapter.loglikelihood` as ``s2s score``: the K candidates share one
forward of the prefix, ``batch_size`` items of similar length go in one call, and each sequence
starts as the model's tokenizer starts text (``bos``). So every adapter ``s2s adapters`` lists
answers here, the cascade included.

How a request becomes a prompt. In t2t the request's context is already ``text_prefix + context``
and its continuation ``separator + candidate`` (the task files ``s2s push`` writes), so the item is
scored under an empty prompt: the adapter tokenizes exactly the two strings ``s2s score`` tokenizes.
In s2t the request's context is the speech prefix (``s2sbench_<config>_s2t``), which becomes the
prompt's ``speech_prefix``; the audio LLMs put it before the clip, as in ``s2s score``. A transcribing
adapter (the cascade) reads its transcript after the prompt's ``text_prefix`` instead, which an s2t
request does not carry: ``text_prefix`` (a model argument, default empty, as in every bundled
profile) gives it.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from s2sbench.errors import S2SBenchError, user_message

try:
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
except ImportError as exc:  # an optional integration: lm-eval is not a dependency of s2sbench
    raise S2SBenchError(f"lm-evaluation-harness is not installed ({exc}): pip install 'lm-eval==0.4.13' (make peer)") from exc

MODEL_NAME = "s2sbench"
DEFAULT_BATCH_SIZE = 8  # as s2s score's --batch-size; lm-eval's "auto" gets it too


@dataclass
class _Doc:
    """The requests of one doc under one context: one item to score, its candidates in request order."""

    context: str
    audio: Any  # what lm-eval passed as the doc's audio; None in t2t
    doc: dict
    requests: list[int] = field(default_factory=list)  # positions in the lm-eval batch
    continuations: list[str] = field(default_factory=list)


@register_model(MODEL_NAME)
class S2SBenchLM(LM):
    """lm-eval's ``loglikelihood`` through an s2sbench adapter.

    ``model``: what ``s2s score --model`` takes (a model directory or hub id, a ``.gguf`` file,
    ``cascade:ASR+LM``); ``adapter``, ``device``, ``dtype``, ``bos``, ``trust_remote_code``: as the
    ``s2s score`` options of those names; ``batch_size``: items (docs) per adapter call; ``lang``: the
    language of docs that do not say it (the cascade's recognizer needs it); ``text_prefix``: see the
    module's docstring.
    """

    MULTIMODAL = True  # lm-eval runs a task with doc_to_audio only on a model that says it takes such requests

    def __init__(self, model: str, adapter: str = "auto", device: str | None = None, dtype: str = "auto", batch_size: int | str | None = None,
                 max_batch_size: int | None = None, bos: str = "auto", trust_remote_code: bool = False, lang: str | None = None,
                 text_prefix: str = "") -> None:
        super().__init__()
        from s2sbench.devices import check_device
        from s2sbench.scorer.adapters import AdapterSpec, load_adapter, resolve_adapter
        from s2sbench.scorer.adapters.tokens import BOS_POLICIES
        from s2sbench.scorer.model_ref import resolve_model

        if bos not in BOS_POLICIES:
            raise S2SBenchError(f"bos must be one of {', '.join(BOS_POLICIES)}, not {bos!r}")
        device = device or "auto"
        check_device(device)
        self.batch_size = _batch_size(batch_size)
        self.lang = lang
        self.text_prefix = str(text_prefix)
        reference = resolve_model(str(model))  # what the model is, said in one line before any loading (as s2s score does)
        spec = AdapterSpec(reference.text, device, dtype, {"bos": bos, "trust_remote_code": bool(trust_remote_code), "s2s_codebooks": "semantic"})
        chosen = resolve_adapter(spec, adapter, reference)
        self.adapter = load_adapter(replace(spec, model=reference.source), chosen)
        self.clips = _ClipFiles()

    @classmethod
    def create_from_arg_obj(cls, arg_dict: dict[str, Any], additional_config: dict[str, Any] | None = None) -> S2SBenchLM:
        """lm-eval's constructor call, ``--model_args`` over its command line's own settings: its CLI
        always passes ``device`` (``cuda:0`` unless told), which would otherwise collide with
        ``--model_args ...,device=cpu``."""
        given = {key: value for key, value in (additional_config or {}).items() if value is not None}
        return cls(**{**given, **arg_dict})

    @classmethod
    def create_from_arg_string(cls, arg_string: str, additional_config: dict[str, Any] | None = None) -> S2SBenchLM:
        from lm_eval.utils import simple_parse_args_string

        return cls.create_from_arg_obj(simple_parse_args_string(arg_string), additional_config)

    # lm-eval's model API -------------------------------------------------------------------------

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        """Per request, (summed log-likelihood of its continuation, False): ``is_greedy`` is not
        computed (a multiple-choice task reads only the log-likelihood)."""
        from tqdm import tqdm

        docs = _docs(requests)
        results: list[tuple[float, bool] | None] = [None] * len(requests)
        with tqdm(total=len(docs), desc="s2sbench", unit="doc", disable=disable_tqdm or None) as bar:
            for batch in _batches(sorted(docs, key=_length), self.batch_size):
                for doc, scores in zip(batch, self._score(batch), strict=True):
                    for position, score in zip(doc.requests, scores, strict=True):
                        results[position] = (float(score.summed), False)
                bar.update(len(batch))
        return results  # type: ignore[return-value]  # every position is some doc's request

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        raise S2SBenchError("the s2sbench model scores continuations of a context (loglikelihood), not whole texts (loglikelihood_rolling)")

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        raise S2SBenchError("the s2sbench model scores candidates (loglikelihood); it does not generate (generate_until)")

    # lm-eval reads these only under --apply_chat_template: a chat template would change the prompt
    # that s2s score and the release's task files give, so the number would no longer be ours.
    CHAT_TEMPLATE_REFUSED = ("the s2sbench model scores the prompts as the release's task files give them (the raw prompt style); "
                             "leave out --apply_chat_template (s2s score --prompt-style chat scores through the model's chat template)")

    @property
    def tokenizer_name(self) -> str:
        raise S2SBenchError(self.CHAT_TEMPLATE_REFUSED)

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        raise S2SBenchError(self.CHAT_TEMPLATE_REFUSED)

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        raise S2SBenchError(self.CHAT_TEMPLATE_REFUSED)

    def get_model_info(self) -> dict[str, Any]:
        """What lm-eval records of the model in its results: the adapter's identity, as s2s score's run.json."""
        from s2sbench import __version__

        return {"s2sbench_adapter": self.adapter.identity(), "s2sbench_version": __version__}

    # Requests to items -------------------------------------------------------------------------

    def _score(self, batch: list[_Doc]) -> list[list[Any]]:
        """One adapter call for the batch's docs, in order."""
        from s2sbench.scorer.adapters import ScoreRequest

        return self.adapter.loglikelihood([ScoreRequest(*self._request(doc)) for doc in batch])

    def _request(self, doc: _Doc) -> tuple[Any, str, Any]:
        """(item, mode, prompt) of one doc's requests."""
        from s2sbench.scorer.adapters import Prompt, ScoreItem

        mode = "t2t" if doc.audio is None else "s2t"
        if mode not in self.adapter.modes:
            raise S2SBenchError(f"adapter {self.adapter.identity()['adapter']} cannot score mode {mode} (it scores {', '.join(self.adapter.modes)})")
        lang = str(doc.doc.get("lang") or self.lang or "")
        if mode == "s2t" and not lang:
            raise S2SBenchError("a doc with audio says no `lang`: pass --model_args ...,lang=CODE")
        item = ScoreItem(id=str(doc.doc.get("id", "")), subset=str(doc.doc.get("subset", "")), lang=lang,
                         context=doc.context if mode == "t2t" else str(doc.doc.get("context", "")), candidates=doc.continuations, answer=0,
                         context_audio=self.clips.path(doc.audio) if mode == "s2t" else None)
        # The request's strings already hold the task's prompts (module docstring): nothing more around them.
        prompt = Prompt(text_prefix="", separator="") if mode == "t2t" else Prompt(text_prefix=self.text_prefix, speech_prefix=doc.context, separator="")
        return item, mode, prompt


def _docs(requests: Sequence[Any]) -> list[_Doc]:
    """lm-eval's requests grouped into docs: the requests of one (task, doc, context), in order."""
    docs: dict[tuple, _Doc] = {}
    for position, request in enumerate(requests):
        context, continuation, audio = _arguments(request)
        doc_id = getattr(request, "doc_id", None)
        key = (getattr(request, "task_name", None), doc_id, context) if doc_id is not None else (position,)
        if key not in docs:
            docs[key] = _Doc(context, audio, dict(getattr(request, "doc", None) or {}))
        docs[key].requests.append(position)
        docs[key].continuations.append(continuation)
    return list(docs.values())


def _arguments(request: Any) -> tuple[str, str, Any]:
    """(context, continuation, audio or None) of one request."""
    arguments = request.args
    if len(arguments) < 2:
        raise S2SBenchError(f"a loglikelihood request holds (context, continuation), not {len(arguments)} argument(s)")
    context, continuation = str(arguments[0]), str(arguments[1])
    extra = arguments[2] if len(arguments) > 2 else {}
    if not isinstance(extra, dict):
        raise S2SBenchError(f"a request's third argument is lm-eval's multimodal dict, not {type(extra).__name__}")
    if extra.get("visual") is not None:
        raise S2SBenchError("the s2sbench model hears audio; this task gives images (doc_to_image)")
    audio = extra.get("audio")
    if isinstance(audio, list | tuple):  # doc_to_audio naming a list of columns
        if len(audio) != 1:
            raise S2SBenchError(f"a request carries {len(audio)} clips; the s2sbench model hears one context clip per doc")
        audio = audio[0]
    return context, continuation, audio


def _length(doc: _Doc) -> int:
    """How long a doc's context is, for batching docs of similar length (the text's length, as s2s score sorts)."""
    return len(str(doc.doc.get("context") or doc.context))


def _batches(docs: list[_Doc], size: int) -> list[list[_Doc]]:
    return [docs[start : start + size] for start in range(0, len(docs), size)]


def _batch_size(value: int | str | None) -> int:
    """lm-eval's ``--batch_size`` (a number, or ``auto``/``auto:N``, which get s2s score's default) as items per call."""
    if value is None or str(value).startswith("auto"):
        return DEFAULT_BATCH_SIZE
    try:
        size = int(value)
    except ValueError:
        raise S2SBenchError(f"batch_size {value!r}: expected a number of docs per call, or auto") from None
    if size < 1:
        raise S2SBenchError(f"batch_size {size}: give at least 1")
    return size


class _ClipFiles:
    """The clips lm-eval hands over (decoded by ``datasets``), as files the adapters read: each written
    once, as 32-bit float WAV, which keeps the decoded samples exactly; removed with the model."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="s2sbench-lm-eval-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.directory, True)
        self.written: dict[str, str] = {}

    def path(self, audio: Any) -> str:
        """A file holding ``audio``: a path as given; encoded bytes, or decoded samples with their rate, written here."""
        if isinstance(audio, str | Path):
            return str(audio)
        encoded = _field(audio, "bytes")
        if encoded:
            return self._write(hashlib.sha256(encoded).hexdigest(), lambda target: target.write_bytes(encoded))
        samples, rate = _field(audio, "array"), _field(audio, "sampling_rate")
        if samples is None or not rate:
            raise S2SBenchError(f"a request's audio is a {type(audio).__name__} without samples and a sampling rate (doc_to_audio must name an Audio column)")
        return self._write_samples(samples, int(rate))

    def _write_samples(self, samples: Any, rate: int) -> str:
        import numpy as np
        import soundfile as sf

        array = np.ascontiguousarray(np.asarray(samples, dtype=np.float32))
        if array.ndim == 2 and array.shape[0] < array.shape[1]:  # datasets decodes channels first; soundfile writes frames first
            array = np.ascontiguousarray(array.T)
        digest = hashlib.sha256(array.tobytes() + f"{rate}:{array.shape}".encode()).hexdigest()
        return self._write(digest, lambda target: sf.write(str(target), array, rate, subtype="FLOAT", format="WAV"))

    def _write(self, digest: str, write: Any) -> str:
        if digest not in self.written:
            target = self.directory / f"{digest}.wav"
            write(target)
            self.written[digest] = str(target)
        return self.written[digest]


def _field(audio: Any, name: str) -> Any:
    """``audio[name]`` of a dict or of a datasets AudioDecoder (which answers ``array`` and ``sampling_rate``); None when absent."""
    if isinstance(audio, dict):
        return audio.get(name)
    try:
        return audio[name]
    except (KeyError, TypeError, IndexError):
        return None


def main(argv: Sequence[str] | None = None) -> None:
    """lm-eval's command line (every argument its own) with the ``s2sbench`` model registered; an
    error a user can fix is one line, exit status 2, as in ``s2s``."""
    from lm_eval.__main__ import cli_evaluate

    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    try:
        cli_evaluate()
    except Exception as error:
        message = user_message(error)
        if message is None:  # a defect keeps its traceback
            raise
        print(f"error: {message.splitlines()[0] if message else ''}", file=sys.stderr)
        raise SystemExit(2) from None
