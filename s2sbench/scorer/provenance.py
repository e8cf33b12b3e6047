"""What reproduces a score run, recorded in ``run.json``: the weights, the packages, the prompts.

- **Weights.** A Hub model is named by the commit of the snapshot it was loaded from (the local
  cache's ``snapshots/<commit>``); a local directory or file by a digest of its files: SHA-256 of
  each file's bytes, or for a file over :data:`WHOLE_HASH_BYTES` (weights of billions of
  parameters) of its size and three 16 MiB samples, so a run does not spend a minute reading 15 GB.
  A results directory whose run names other weights is refused, so two models never mix in it.
- **Packages**: the versions that shape the numbers (torch, transformers, tokenizers, ...).
- **Prompts**: the exact wording around the parts, per language (from the build's profile).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

WHOLE_HASH_BYTES = 256 * 2**20
SAMPLE_BYTES = 16 * 2**20
SCORE_PACKAGES = ("s2sbench", "torch", "transformers", "tokenizers", "accelerate", "gguf", "numpy", "faster-whisper", "ctranslate2", "datasets", "soundfile")


def file_digest(path: Path) -> str:
    """SHA-256 of the file, or ``sampled:`` SHA-256 of its size and three samples when it is large."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        if size <= WHOLE_HASH_BYTES:
            for block in iter(lambda: handle.read(2**20), b""):
                digest.update(block)
            return digest.hexdigest()
        digest.update(str(size).encode())
        for start in (0, size // 2, size - SAMPLE_BYTES):
            handle.seek(start)
            digest.update(handle.read(SAMPLE_BYTES))
    return "sampled:" + digest.hexdigest()


def local_weights(path: Path) -> dict[str, Any]:
    """A digest over the files of a model directory (or one file), hidden files left out."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts))
    combined = hashlib.sha256()
    sampled = False
    for file in files:
        digest = file_digest(file)
        sampled |= digest.startswith("sampled:")
        combined.update(f"{file.relative_to(path).as_posix() if path.is_dir() else file.name}\0{digest}\n".encode())
    return {"sha256": combined.hexdigest(), "files": len(files), "bytes": sum(f.stat().st_size for f in files),
            **({"large_files": "sampled (size and three 16 MiB samples)"} if sampled else {})}


def hub_revision(repo_id: str) -> str | None:
    """The commit of the cached snapshot a Hub model loads from, or None when none is cached."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo_id, "config.json")
    if not isinstance(found, str):
        return None
    parts = Path(found).parts
    return parts[parts.index("snapshots") + 1] if "snapshots" in parts else None


def weights_identity(model: str, reference: Any = None) -> dict[str, Any]:
    """Which weights ``--model`` names (see the module doc); a cascade names its LM's. ``reference``
    (its :class:`~s2sbench.scorer.model_ref.ModelRef`, when resolved) names a Hub model by the commit
    it resolved to, ``@REVISION`` or not."""
    if reference is not None and reference.kind == "hub":
        return {"hub": reference.repo, "revision": reference.commit}
    if reference is not None and reference.kind == "cascade":
        return {"asr": reference.asr, "lm": weights_identity(reference.lm.text, reference.lm)}
    if model.startswith("cascade:"):
        from s2sbench.scorer.adapters.cascade import parse_cascade

        asr, lm = parse_cascade(model)
        return {"asr": asr, "lm": weights_identity(lm)}
    path = Path(os.path.expanduser(model))
    if path.exists():
        return {"local": str(path.resolve()), **local_weights(path)}
    return {"hub": model, "revision": hub_revision(model)}


def prompt_texts(prompts: dict[str, Any]) -> dict[str, dict[str, str]]:
    """language -> the prompt's parts, as run.json records them."""
    return {lang: asdict(prompt) for lang, prompt in sorted(prompts.items())}
