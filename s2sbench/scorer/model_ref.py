"""What ``--model`` names, said before any adapter is chosen or any results directory made.

A model reference is one of:

- a local **directory** (a transformers model: it must hold ``config.json``),
- a local **GGUF file** (``.gguf``: it must start with the GGUF magic),
- ``cascade:ASR+LM`` (a recognizer, then a text LM that is itself a reference),
- a **Hub** model ``OWNER/NAME``, with an optional ``@REVISION`` (a branch, a tag, a commit SHA or a
  unique prefix of one: :mod:`s2sbench.revisions`).

:func:`resolve_model` tells which it is and reads the model's configuration (never its weights),
so that ``--adapter auto`` picks a family from what the configuration says and never from a guess;
whatever is wrong (a missing path, a directory without ``config.json``, a ``.gguf`` that is not one,
a Hub name the cache lacks offline, an absent, private or gated repo, a revision that does not
exist) is one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from s2sbench.errors import S2SBenchError
from s2sbench.references import is_explicit_path
from s2sbench.revisions import (
    HubReferenceError,
    cached_revision,
    endpoint,
    hub_errors,
    hub_offline,
    is_repo_id,
    offline_miss,
    resolve_revision,
)

GGUF_MAGIC = b"GGUF"
CASCADE = "cascade:"


class ModelReferenceError(S2SBenchError):
    """``--model`` names nothing that can be scored."""


@dataclass(frozen=True)
class ModelRef:
    """A resolved model reference (see the module doc)."""

    text: str  # as given
    kind: str  # directory, gguf, cascade, hub
    path: Path | None = None  # directory, gguf
    repo: str | None = None  # hub
    revision: str | None = None  # hub: the revision as given after @ (None: the default branch)
    commit: str | None = None  # hub: the commit it resolved to
    model_type: str | None = None  # directory, hub: what config.json says
    asr: str | None = None  # cascade: the recognizer, ENGINE:MODEL
    lm: ModelRef | None = None  # cascade: the text LM

    @property
    def source(self) -> str:
        """What an adapter loads: the reference as given, or for a Hub model at a revision the local
        snapshot of that commit (fetched whole the first time)."""
        if self.kind == "hub" and self.revision is not None:
            from huggingface_hub import snapshot_download

            with hub_errors(self.repo or "", "model", self.revision):
                return snapshot_download(self.repo, revision=self.commit, local_files_only=hub_offline())
        return self.text

    def describe(self) -> str:
        """One line saying which kind of reference this is."""
        if self.kind == "cascade":
            return f"a cascade: recognizer {self.asr}, then {self.lm.describe() if self.lm else '?'}"
        if self.kind == "gguf":
            return f"a local GGUF file {self.path}"
        if self.kind == "directory":
            return f"a local model directory {self.path} (model_type {self.model_type or 'not given'})"
        at = f" at commit {self.commit}" if self.commit else ""
        return f"the Hub model {self.repo}{at} (model_type {self.model_type or 'not given'})"


def resolve_model(text: str) -> ModelRef:
    """``text`` resolved (see the module doc); :class:`ModelReferenceError` or :class:`HubReferenceError` with one line otherwise."""
    if not text or not text.strip():
        raise ModelReferenceError("--model: empty; give a model directory, a .gguf file, cascade:ASR+LM or a Hub name OWNER/NAME")
    if text.startswith(CASCADE):
        return _cascade(text)
    path = Path(text).expanduser()
    if path.exists():
        return _local(text, path)
    if is_explicit_path(text) or text.endswith(".gguf"):
        raise ModelReferenceError(f"{text}: no such model directory or file")
    repo, at, revision = text.partition("@")
    if at and not revision:
        raise ModelReferenceError(f"{text}: nothing after @: give a revision (a branch, a tag or a commit) or leave out the @")
    _check_repo_id(text, repo)
    return _hub(text, repo, revision or None)


def _cascade(text: str) -> ModelRef:
    asr, plus, lm = text.removeprefix(CASCADE).partition("+")
    if not plus or not asr or not lm:
        raise ModelReferenceError(f"--model {text!r}: expected cascade:ASR_ENGINE:ASR_MODEL+LM (e.g. cascade:faster-whisper:base+HuggingFaceTB/SmolLM2-135M)")
    if lm.startswith(CASCADE):
        raise ModelReferenceError(f"--model {text!r}: the LM of a cascade is a text LM, not another cascade")
    return ModelRef(text, "cascade", asr=asr, lm=resolve_model(lm))


def _local(text: str, path: Path) -> ModelRef:
    if path.is_file():
        if path.suffix != ".gguf":
            raise ModelReferenceError(f"{text}: a file that is not a .gguf model; give a model directory (with config.json) or a .gguf file")
        with open(path, "rb") as handle:
            if handle.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
                raise ModelReferenceError(f"{text}: not a GGUF file (it does not start with the GGUF magic bytes)")
        return ModelRef(text, "gguf", path=path)
    if not path.is_dir():
        raise ModelReferenceError(f"{text}: neither a model directory nor a .gguf file")
    config = path / "config.json"
    if not config.is_file():
        raise ModelReferenceError(f"{text}: a directory without config.json: not a model directory (a transformers model holds its config.json)")
    return ModelRef(text, "directory", path=path, model_type=_model_type(config, text))


def _model_type(config: Path, text: str) -> str | None:
    """``model_type`` of a ``config.json``; unreadable, it is said, never guessed."""
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelReferenceError(f"{text}: cannot read its config.json ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}), "
                                  "so its family is unknown") from None
    if not isinstance(data, dict):
        raise ModelReferenceError(f"{text}: its config.json does not hold an object, so its family is unknown")
    model_type = data.get("model_type")
    return model_type if isinstance(model_type, str) else None


def _check_repo_id(text: str, repo: str) -> None:
    if not is_repo_id(repo):
        raise ModelReferenceError(f"{text}: no such model directory or file, and not a Hub model name (OWNER/NAME[@REVISION])")


def _hub(text: str, repo: str, revision: str | None) -> ModelRef:
    """A Hub model: its commit and its configuration, from the cache offline, from the Hub online."""
    if hub_offline():
        commit = cached_revision(repo, revision, "model")
        if commit is None:
            raise offline_miss(repo, revision, "directory")
        config = _cached_config(repo, commit)
        if config is None:
            raise HubReferenceError(f"{repo}: in the Hugging Face cache at {commit} without its config.json (offline: HF_HUB_OFFLINE is set), "
                                    "so its family is unknown")
        return ModelRef(text, "hub", repo=repo, revision=revision, commit=commit, model_type=_model_type(config, text))
    commit = resolve_revision(repo, revision, "model")
    return ModelRef(text, "hub", repo=repo, revision=revision, commit=commit, model_type=_model_type(_hub_config(repo, commit), text))


def _cached_config(repo: str, commit: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, "config.json", revision=commit)
    return Path(found) if isinstance(found, str) else None


def _hub_config(repo: str, commit: str) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    with hub_errors(repo, "model", commit):
        try:
            return Path(hf_hub_download(repo, "config.json", revision=commit))
        except EntryNotFoundError:
            raise HubReferenceError(f"{repo}: the Hub at {endpoint()} holds no config.json for it at {commit}, so its family is unknown "
                                    "(a GGUF file is scored from a local path: download it and give --model FILE.gguf)") from None
