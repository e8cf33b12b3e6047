"""The exported rows: their columns, how an item becomes one, and what is tallied per subset.

A row carries everything the scorer reads of an item in a build (texts, clips, and the facets its
breakdowns group by: voice, engine, category, the context clip's duration and verdict), so a build and its
export are scored alike, and everything :mod:`s2sbench.publish.pull` needs to make the build again.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import soundfile as sf

from s2sbench.clip_length import length_problem
from s2sbench.errors import S2SBenchError
from s2sbench.items import Item


def features(sample_rate: int = 16000, audio: bool = True):
    """The exported columns. With ``audio=False`` the clips are plain ``{bytes, path}`` structs:
    rows are written that way, then cast to ``Audio``, which keeps the bytes and needs no
    torchcodec or FFmpeg (encoding through ``Audio`` would)."""
    from datasets import Audio, Features, List, Value

    clip = Audio(sampling_rate=sample_rate) if audio else {"bytes": Value("binary"), "path": Value("string")}
    return Features(
        {
            "id": Value("string"),
            "subset": Value("string"),
            "lang": Value("string"),
            "context": Value("string"),
            "candidates": List(Value("string")),
            "answer": Value("int32"),
            "context_audio": clip,
            "candidate_audio": List(clip),
            "voice": Value("string"),
            "engine": Value("string"),  # null unless the build rotated several engines (s2s build --tts A --tts B)
            "category": Value("string"),
            "context_duration": Value("float64"),
            "context_asr": Value("string"),
            "context_error": Value("float64"),
            "context_passed": Value("bool"),
            "candidate_asr": List(Value("string")),
            "candidate_error": List(Value("float64")),
            "passed": Value("bool"),
        }
    )


# Columns a release may lack: ``engine`` came after the first releases (their rows read it as null).
OPTIONAL_COLUMNS = frozenset({"engine"})


def feature_kind(feature: Any) -> str:
    """What a column holds, in words: ``a string``, ``an integer``, ``a list of strings``, ``an audio clip``.
    Types of one kind are alike (an int64 answer is an integer like our int32)."""
    from datasets import LargeList, List, Sequence

    if isinstance(feature, (List, LargeList, Sequence)):
        return f"a list of {_noun(feature.feature)}s"
    noun = _noun(feature)
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _noun(feature: Any) -> str:
    from datasets import Audio, LargeList, List, Sequence, Value

    if isinstance(feature, Audio) or (isinstance(feature, dict) and set(feature) == {"bytes", "path"}):
        return "audio clip"
    if isinstance(feature, (List, LargeList, Sequence)):
        return "list"
    dtype = str(getattr(feature, "dtype", "")) if isinstance(feature, Value) else ""
    if dtype in ("string", "large_string"):
        return "string"
    if dtype.startswith(("int", "uint")):
        return "integer"
    if dtype.startswith("float"):
        return "number"
    return dtype or type(feature).__name__


def column_problems(found: Any, columns: Any = None) -> list[tuple[str, str]]:
    """(column, problem) for each column of ``columns`` (default: the exported ones) that the features
    ``found`` lack (unless optional) or hold as another kind; a number column may hold integers."""
    problems = []
    for name, feature in (columns if columns is not None else features(audio=False)).items():
        if name not in found:
            if name not in OPTIONAL_COLUMNS:
                problems.append((name, f"no such column (the schema says {feature_kind(feature)})"))
            continue
        expected, got = feature_kind(feature), feature_kind(found[name])
        if got != expected and not (expected.endswith("number") and got.endswith("integer")):
            problems.append((name, f"the column holds {got}, the schema says {expected}"))
    return problems


def check_columns(where: str, found: Any) -> None:
    """Every column of the schema there, holding what the schema says (a list of candidates, not a
    string of them; a context clip of its own), before any row is read: one error naming the file
    ``where`` and the column."""
    if problems := column_problems(found):
        column, problem = problems[0]
        raise S2SBenchError(f"{where}: {column}: {problem}")


def context_clip_problem(row: dict[str, Any]) -> str | None:
    """Why a release row's clips cannot be read as its context's and candidates' (a row whose
    context clip is empty while its candidates hold clips: a candidate's clip is never the context's), or None."""
    if row.get("candidate_audio") and not row.get("context_audio"):
        return "context_audio: empty while candidate_audio holds clips"
    return None


def clip_problem(data: bytes | Path, sample_rate: int) -> str | None:
    """Why a clip cannot be published (not audio, another rate, no samples, too long), or None.
    Decodes it, once its header says it is no longer than a benchmark clip may last."""
    if (problem := length_problem(data)) is not None:
        return problem
    try:
        samples, rate = sf.read(io.BytesIO(data) if isinstance(data, bytes) else data, dtype="int16", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        return f"not audio ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if rate != sample_rate:
        return f"sampled at {rate} Hz, the build's rate is {sample_rate} Hz"
    if len(samples) == 0:
        return "holds no samples"
    return None


def clip_header(path: Path, sample_rate: int) -> tuple[float, str | None]:
    """(seconds, problem) from the clip file's header alone: the cheap check made before any export
    (:func:`clip_problem` decodes each clip again as it is embedded)."""
    try:
        info = sf.info(path)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        return 0.0, f"not audio ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    if info.samplerate != sample_rate:
        return 0.0, f"sampled at {info.samplerate} Hz, the build's rate is {sample_rate} Hz"
    if info.frames == 0:
        return 0.0, "holds no samples"
    return info.frames / info.samplerate, None


def row(item: Item, clips: list[Path], sample_rate: int, where: str) -> dict[str, Any]:
    """The exported row of ``item``, its clips (context first, checked paths) embedded as their bytes."""
    validation = item.validation or {}
    audio = item.audio or {}

    def clip(path: Path, field: str) -> dict[str, Any]:
        data = path.read_bytes()
        problem = clip_problem(data, sample_rate)
        if problem:
            raise S2SBenchError(f"{where}: {field}: {path.name}: {problem}")
        return {"bytes": data, "path": path.name}

    candidates = validation.get("candidates") or []
    context_verdict = validation.get("context") or {}
    return {
        "id": item.id,
        "subset": item.subset,
        "lang": item.lang,
        "context": item.context,
        "candidates": item.candidates,
        "answer": item.answer,
        "context_audio": clip(clips[0], "audio.context") if clips else None,
        "candidate_audio": [clip(path, f"audio.candidates[{k}]") for k, path in enumerate(clips[1:])],
        "voice": (audio.get("voices") or {}).get("context"),
        "engine": (audio.get("engines") or {}).get("context"),
        "category": item_category(item),
        "context_duration": context_verdict.get("duration"),
        "context_asr": context_verdict.get("asr"),
        "context_error": context_verdict.get("error"),
        "context_passed": context_verdict.get("passed"),
        "candidate_asr": [v.get("asr") for v in candidates],
        "candidate_error": [v.get("error") for v in candidates],
        "passed": validation.get("passed", True) if validation else True,
    }


# The context verdict's fields a row publishes (``row`` writes them, the readers take them back).
CONTEXT_VERDICT_COLUMNS = (("asr", "context_asr"), ("error", "context_error"), ("passed", "context_passed"), ("duration", "context_duration"))


def row_context_verdict(row: dict[str, Any]) -> dict[str, Any] | None:
    """The context clip's verdict as an exported row holds it (None: the build was not validated)."""
    verdict = {key: row.get(column) for key, column in CONTEXT_VERDICT_COLUMNS if row.get(column) is not None}
    return verdict or None


def item_category(item: Item) -> str | None:
    """The item's category for breakdowns: a CMMLU/MMLU subject, or a source's own category column."""
    category = item.source.get("subject") or item.source.get("category")
    return str(category) if category is not None else None


def kept(item: Item, include_failed: bool) -> bool:
    """Whether ``item`` is published: it passed validation (or was not validated), or ``include_failed``."""
    return include_failed or not item.validation or bool(item.validation.get("passed", True))


@dataclass
class SubsetTally:
    """What the card and provenance need of one subset's items, gathered in one streamed pass."""

    lang: str | None = None
    items: int = 0  # kept (exported) items
    failed: int = 0  # items left out for failing validation
    clips: int = 0
    k: set[int] = field(default_factory=set)
    clips_checked: int = 0
    clips_passed: int = 0
    first: list[Item] = field(default_factory=list)  # the first few kept items: example row, digests
    seconds: float = 0.0  # audio of the published clips
    shortest: float = float("inf")
    longest: float = 0.0
    voices: Counter = field(default_factory=Counter)  # published clips per voice

    def add_clip(self, seconds: float, voice: str | None) -> None:
        """One published clip: its duration (from its header) and the voice that spoke it."""
        self.seconds += seconds
        self.shortest = min(self.shortest, seconds)
        self.longest = max(self.longest, seconds)
        self.voices[voice or "default"] += 1

    def audio_figures(self) -> dict[str, Any]:
        """Hours, clip durations and voice shares, as the card states them."""
        clips = sum(self.voices.values())
        return {
            "hours": round(self.seconds / 3600, 3),
            "clip_seconds": {"min": round(self.shortest, 2), "mean": round(self.seconds / clips, 2), "max": round(self.longest, 2)} if clips else None,
            "voices": {voice: round(count / clips, 4) for voice, count in self.voices.most_common()} if clips else {},
        }

    def add(self, item: Item, is_kept: bool) -> None:
        if not is_kept:
            self.failed += 1
            return
        self.lang = self.lang or item.lang
        self.items += 1
        self.clips += 1 + len((item.audio or {}).get("candidates") or [])
        self.k.add(len(item.candidates))
        validation = item.validation or {}
        verdicts = [v for v in [validation.get("context"), *(validation.get("candidates") or [])] if v]
        self.clips_checked += len(verdicts)
        self.clips_passed += sum(bool(v.get("passed")) for v in verdicts)
        if len(self.first) < 5:
            self.first.append(item)
