"""Making each variant: its items, clips and build.json, its validation, and a re-run that writes nothing."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from s2sbench._io import DirectoryLock, file_sha256, parse_json, remove_temporary_files, write_lines_atomic
from s2sbench.augment.audio import (
    VariantClipMaker,
    augmentation_library,
    library_versions,
    noise_for,
    room_library,
)
from s2sbench.augment.transforms import AUGMENT_FORMAT, AugmentOptions, Transform
from s2sbench.builddir import BuildDirectory
from s2sbench.errors import S2SBenchError
from s2sbench.items import Item
from s2sbench.progress import SILENT, Progress
from s2sbench.storage import ClipStore
from s2sbench.synth.clips import clip_key
from s2sbench.synth.postprocess import AudioOptions
from s2sbench.versions import package_versions


@dataclass
class VariantResult:
    name: str
    path: Path
    items: int
    clips_made: int
    clips_reused: int
    mean_error: float | None  # mean ASR error over the variant's clips (None: not validated)
    median_error: float | None = None
    clips_passed: int = 0
    clips_checked: int = 0
    unchanged: bool = False  # a re-run that found the variant complete and wrote nothing
    errors_by_subset: dict[str, float] = field(default_factory=dict)




def _kept(item: Item, include_failed: bool) -> bool:
    """The parent's published items: its verdicts gate a variant, the variant's own do not."""
    return item.audio is not None and (include_failed or not item.validation or bool(item.validation.get("passed", True)))


def _validation_summary(root: Path) -> dict[str, Any]:
    path = root / "validation.json"
    try:
        return parse_json(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _complete(variant: BuildDirectory, fingerprint: str, validate: bool) -> bool:
    """The variant is there as this run would make it: same fingerprint, finished, every clip whole."""
    manifest = variant.read_manifest()
    if (manifest.get("augment") or {}).get("fingerprint") != fingerprint or manifest.get("status") != "complete":
        return False
    if validate and not _validation_summary(variant.root).get("counts"):
        return False
    store = ClipStore(variant.root)
    for number, item in variant.iter_numbered_items():
        for path in variant.clip_paths(item, f"{variant.items_path}:{number}"):
            if not store.usable(str(path.relative_to(variant.root.resolve()))):
                return False
    return True


def _result(name: str, variant: BuildDirectory, made: int, reused: int, unchanged: bool) -> VariantResult:
    manifest = variant.read_manifest()
    summary = _validation_summary(variant.root) if manifest.get("validation") else {}
    counts = summary.get("counts") or {}
    return VariantResult(name, variant.root, (manifest.get("counts") or {}).get("items", 0), made, reused,
                         summary.get("mean_error"), summary.get("median_error"), counts.get("passed", 0), counts.get("clips", 0), unchanged,
                         summary.get("mean_error_by_subset") or {})


def _recognizer(options: AugmentOptions, parent_manifest: dict[str, Any]) -> Any:
    """The recognizer every variant is validated with, loaded once."""
    if options.recognizer is not None or not options.validate:
        return options.recognizer
    from s2sbench.profiles import build_profile
    from s2sbench.validate.asr import ASRSpec, load_recognizer

    profile = build_profile(parent_manifest.get("profile"), (parent_manifest.get("source") or {}).get("lang", "en"))
    return load_recognizer(ASRSpec.parse(options.asr or f"{profile.asr_engine}:{profile.asr_model}", device=options.device))


def _variant(parent: BuildDirectory, parent_manifest: dict[str, Any], transform: Transform, options: AugmentOptions,
             recognizer: Any, version: str) -> VariantResult:
    variant = BuildDirectory(Path(options.output) / transform.name)
    made = not variant.root.exists()
    try:
        return _make_variant(parent, parent_manifest, transform, options, recognizer, version, variant)
    except S2SBenchError:  # refused (no noise file, no spoken item, a recognizer that cannot load): no half variant is left
        if made:
            shutil.rmtree(variant.root, ignore_errors=True)
        raise


def _make_variant(parent: BuildDirectory, parent_manifest: dict[str, Any], transform: Transform, options: AugmentOptions,
                  recognizer: Any, version: str, variant: BuildDirectory) -> VariantResult:
    from s2sbench.validate.revalidate import RevalidateOptions, validate_build

    audio = AudioOptions.from_dict(parent_manifest.get("audio"), str(parent.build_path))  # a parent levelled before LUFS: its rule
    with DirectoryLock(variant.root, "build directory"):
        variant.repair()
        if (variant.root / "noise").is_dir():
            remove_temporary_files(variant.root / "noise")  # a babble track a killed run was writing
        noise = noise_for(transform, options, parent, variant.root, audio)
        asr = recognizer.identity() if recognizer is not None else None
        items_digest = file_sha256(parent.items_path)  # what the variant's items come from
        fingerprint = clip_key({"format": AUGMENT_FORMAT, "items": items_digest, "transform": transform.as_dict(), "seed": options.seed,
                                "noise": noise.identity if noise else None, **library_versions(transform, version), "include_failed": options.include_failed,
                                "validate": options.validate, "asr": asr})
        if _complete(variant, fingerprint, options.validate):
            return _result(transform.name, variant, 0, (variant.read_manifest().get("counts") or {}).get("clips", 0), True)
        maker = VariantClipMaker(parent, variant, transform, options.seed, audio, noise, version)
        subsets: dict[str, int] = {}

        def lines() -> Iterator[str]:
            for number, item in parent.iter_numbered_items():
                if _kept(item, options.include_failed):
                    subsets[item.subset] = subsets.get(item.subset, 0) + 1
                    yield maker.item(item, f"{parent.items_path}:{number}").to_json() + "\n"

        count = write_lines_atomic(variant.items_path, lines())
        if not count:
            raise S2SBenchError(f"{parent.root}: no spoken item to augment (use --include-failed for items that failed validation)")
        manifest = {key: value for key, value in parent_manifest.items() if key not in ("validation", "status", "fingerprint", "skipped_rows")}
        manifest.update(
            status="validating" if options.validate else "complete",
            augment={"parent": str(parent.root.resolve()), "parent_items_sha256": items_digest,
                     "parent_manifest": {k: parent_manifest.get(k) for k in ("fingerprint", "created", "counts")},
                     "name": transform.name, "transform": transform.as_dict(), "seed": options.seed, "include_failed": options.include_failed,
                     "noise_files": ([{"path": str(p), "sha256": d} for p, d in zip(noise.files, noise.identity)] if noise else None),
                     "versions": package_versions(("audiomentations", "numpy", "soundfile", "python-stretch", "librosa", "pyroomacoustics")),
                     **({"room_response": maker.reverb.measured(audio.sample_rate)} if maker.reverb else {}),
                     "fingerprint": fingerprint},
            counts={"items": count, "clips": maker.made + maker.reused, "subsets": subsets},
        )
        variant.write_manifest(manifest)
        if options.validate:
            validate_build(variant.root, RevalidateOptions(asr=options.asr, device=options.device), recognizer=recognizer, locked=True)
            manifest = variant.read_manifest()
            manifest["status"] = "complete"
            variant.write_manifest(manifest)
        return _result(transform.name, variant, maker.made, maker.reused, False)


def augment(options: AugmentOptions, progress: Progress = SILENT, on_variant: Callable[[VariantResult], None] = lambda result: None) -> list[VariantResult]:
    """Make (or complete) every variant of ``options``; ``progress`` counts the variants done and
    ``on_variant`` hears of each, with its figures, as it is done."""
    transforms = options.transforms()
    _, version = augmentation_library()
    if any(transform.kind == "reverb" for transform in transforms):
        room_library()  # before anything is read or written
    parent = BuildDirectory(options.build).require()
    if Path(options.output).resolve() == parent.root.resolve():
        raise S2SBenchError(f"-o {options.output}: the parent build itself; give a directory for the variants")
    output_made = not Path(options.output).exists()
    try:
        return _augment(parent, options, transforms, version, progress, on_variant)
    except S2SBenchError:
        if output_made and Path(options.output).is_dir() and not any(Path(options.output).iterdir()):
            Path(options.output).rmdir()  # a refused first variant: no empty folder of variants either
        raise


def _augment(parent: BuildDirectory, options: AugmentOptions, transforms: list[Transform], version: str, progress: Progress,
             on_variant: Callable[[VariantResult], None]) -> list[VariantResult]:
    with parent.reading():  # no build or validation rewrites the parent while its variants are made
        manifest = parent.read_manifest()
        if manifest.get("status") in ("running", "interrupted"):  # "incomplete" builds lack only items no engine could speak
            raise S2SBenchError(f"{parent.root}: the build is {manifest.get('status')}; finish it (`s2s build` again) before augmenting it")
        sum(1 for _ in parent.iter_items())  # every item and clip path checked before anything is written
        recognizer = _recognizer(options, manifest)
        results = []
        progress.start(len(transforms))
        for transform in transforms:
            result = _variant(parent, manifest, transform, options, recognizer, version)
            results.append(result)
            on_variant(result)
            progress.advance(len(results))
        return results
