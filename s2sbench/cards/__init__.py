"""Dataset cards: a template (``dataset_card.md``) rendered with huggingface_hub's ``DatasetCard``.

Each pushed config carries a provenance record (``s2sbench/<config>.json`` in the repo: source,
engines, voices, validation figures). The card is rendered from all the records present after a
push, so pushing a second config later keeps the first one's section.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from s2sbench.licenses import DataLicense
from s2sbench.tables import public_source

# BibTeX of the source datasets, by builder name.
SOURCE_CITATIONS = {
    "storycloze": "@inproceedings{mostafazadeh2016corpus,\n  title = {A Corpus and Cloze Evaluation for Deeper Understanding of Commonsense Stories},\n"
    "  author = {Mostafazadeh, Nasrin and others},\n  booktitle = {NAACL-HLT},\n  year = {2016}\n}",
    "xstorycloze": "@article{lin2021fewshot,\n  title = {Few-shot Learning with Multilingual Language Models},\n  author = {Lin, Xi Victoria and others},\n"
    "  journal = {arXiv preprint arXiv:2112.10668},\n  year = {2021}\n}",
    "cmmlu": "@article{li2023cmmlu,\n  title = {CMMLU: Measuring massive multitask language understanding in Chinese},\n  author = {Li, Haonan and others},\n"
    "  journal = {arXiv preprint arXiv:2306.09212},\n  year = {2023}\n}",
    "mmlu": "@inproceedings{hendrycks2021measuring,\n  title = {Measuring Massive Multitask Language Understanding},\n  author = {Hendrycks, Dan and others},\n"
    "  booktitle = {ICLR},\n  year = {2021}\n}",
}

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))


def size_category(items: int) -> str:
    return next((label for limit, label in SIZE_CATEGORIES if items < limit), "n>1M")


def _section(record: dict[str, Any]) -> dict[str, Any]:
    tts, audio, validation = record["tts"], record["audio"], record.get("validation")
    if validation:
        asr = validation["asr"]
        passed = f"{validation['passed']}/{validation['clips']} clips passed ({validation['passed'] / max(validation['clips'], 1):.1%})"
        window = {"auto": " (each clip heard in a window that fits it, 10-30 s; one failing on its transcript heard again at 30 s)",
                  "30": " (every clip padded to a 30 s window)"}.get(str(asr.get("window")), "")
        validation_text = (f"every clip transcribed by {asr.get('engine')} `{asr.get('model')}`{window} and scored by {validation['metric'].upper()} after "
                           f"normalization ({' > '.join(map(str, validation['normalizer']))}); a clip passes at error <= {validation['max_error']} "
                           f"with no signal fault, after up to {validation['retries']} re-syntheses; {passed}.")
        pass_rate = f"{validation['passed'] / max(validation['clips'], 1):.1%}"
    else:
        validation_text, pass_rate = "not validated.", "n/a"
    return {
        "name": record["config"],
        "lang": record["lang"],
        "n_items": record["items"],
        "clips": record["clips"],
        "pass_rate": pass_rate,
        "source_name": record["source"]["format"],
        "source_spec": public_source(record["source"]["spec"]) if record["source"]["spec"] else None,  # records of older pushes held the local path
        "source_description": record["source"]["description"],
        "source_license": _license_text(DataLicense.from_dict(record["source"]["license"])),
        "tts": _engines_text(tts),
        "voices": _voice_shares(record),
        "hours": _hours(record),
        "durations": _durations(record),
        "sample_rate": audio["sample_rate"],
        "pad": audio["pad_seconds"],
        "loudness": _loudness_text(audio),
        "validation": validation_text,
        "failed_excluded": record["failed_excluded"],
        "version": record["s2sbench_version"],
        "task": _task_text(record.get("task")),
    }


def _task_text(task: dict[str, Any] | None) -> str:
    """The prompts in words: what surrounds the context in each mode, and what joins a candidate."""
    if not task:
        return "not recorded (pushed by an older s2sbench: the language's bundled profile)"
    prompts = task["prompts"]
    return (f"text prefix {json.dumps(prompts['text_prefix'], ensure_ascii=False)}, speech prefix {json.dumps(prompts['speech_prefix'], ensure_ascii=False)}, "
            f"separator {json.dumps(prompts['separator'], ensure_ascii=False)}; K = {', '.join(map(str, task.get('k') or []))}")


def _engine_text(tts: dict[str, Any]) -> str:
    model = f" `{tts['model']}`" if tts.get("model") else ""
    return f"{tts['engine']}{model} (version {tts.get('version')})"


def _engines_text(tts: dict[str, Any]) -> str:
    """The engine that spoke the clips; a build of several engines (rotated over items) names each."""
    if tts.get("engines"):
        return "engines rotated over items: " + "; ".join(f"`{engine.get('label')}`: {_engine_text(engine)}" for engine in tts["engines"])
    return _engine_text(tts)


def _loudness_text(audio: dict[str, Any]) -> str:
    """The level every clip was set to: integrated loudness (ITU-R BS.1770), or, for builds made
    before it, the average (RMS) level."""
    if audio.get("loudness_lufs") is not None:
        return f"{audio['loudness_lufs']:g} LUFS integrated loudness (ITU-R BS.1770), peaks under -1 dBFS"
    return f"{audio['loudness_dbfs']:g} dBFS average (RMS) level, peaks under -1 dBFS" if audio.get("loudness_dbfs") is not None else "not recorded"


def _voice_shares(record: dict[str, Any]) -> str:
    """The voices that spoke the published clips, with their shares (older records: the voices asked for)."""
    shares = (record.get("audio_figures") or {}).get("voices")
    if shares:
        return ", ".join(f"{voice} {share:.0%}" for voice, share in shares.items())
    return ", ".join(str(v) for v in record["tts"].get("voices") or ["engine default"])


def _hours(record: dict[str, Any]) -> str:
    figures = record.get("audio_figures")
    return f"{figures['hours']:.2f} h" if figures else "not measured"


def _durations(record: dict[str, Any]) -> str:
    seconds = (record.get("audio_figures") or {}).get("clip_seconds")
    return f"{seconds['min']:.1f} s / {seconds['mean']:.1f} s / {seconds['max']:.1f} s" if seconds else "not measured"


def _license_text(data_license: DataLicense | None) -> str:
    if data_license is None:
        return "not stated"
    if data_license.id == "other" and data_license.link:
        return f"[{data_license.name or 'other'}]({data_license.link})"
    return str(data_license)


def license_metadata(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The card's ``license`` (with ``license_name``/``license_link`` for ``other``) from the configs'
    licences: one id when they agree, the list of ids when they differ (each config's row names its own)."""
    licenses = sorted({DataLicense.from_dict(r["source"]["license"]) for r in records}, key=lambda lic: (lic.id, lic.name or ""))
    ids = sorted({lic.id for lic in licenses})
    metadata: dict[str, Any] = {"license": ids[0] if len(ids) == 1 else ids}
    others = [lic for lic in licenses if lic.id == "other"]
    if len(others) == 1:
        metadata.update(license_name=others[0].name, license_link=others[0].link)
    elif others:
        metadata.update(license_name="several: see each configuration", license_link=others[0].link)
    return metadata


def pretty_name(records: list[dict[str, Any]]) -> str:
    """What the dataset is, from its configs' subsets (``sStoryCloze, sCMMLU (spoken)``), not from a folder."""
    subsets = sorted(dict.fromkeys(r.get("subset") or r["config"] for r in records))
    named = ", ".join(subsets[:4]) + (f" and {len(subsets) - 4} more" if len(subsets) > 4 else "")
    return f"{named} (spoken)"


def is_the_corpus(record: dict[str, Any]) -> bool:
    """Whether a config's text is its format's corpus (cited as such): published under the corpus's
    own terms. A user's own file in a corpus's layout is not that corpus."""
    from s2sbench.builders import builders

    builder = builders().get(record["source"]["format"])
    return record["source"]["format"] in SOURCE_CITATIONS and builder is not None and builder.license == DataLicense.from_dict(record["source"]["license"])


def render_card(repo_id: str, records: list[dict[str, Any]], split: str, example: dict[str, Any]) -> str:
    """README.md for the repo: YAML metadata (licence, languages, configs...) and every section."""
    from huggingface_hub import DatasetCard, DatasetCardData

    records = sorted(records, key=lambda r: r["config"])
    languages = sorted({r["lang"] for r in records})
    total_items = sum(r["items"] for r in records)
    card_data = DatasetCardData(
        language=languages,
        **license_metadata(records),
        multilinguality="monolingual" if len(languages) == 1 else "multilingual",
        size_categories=[size_category(total_items)],
        task_categories=["multiple-choice", "audio-text-to-text"],
        task_ids=["multiple-choice-qa"],
        pretty_name=pretty_name(records),
        tags=["s2sbench", "speech", "spoken-language-understanding", "synthetic-speech"],
        configs=[{"config_name": r["config"], "data_files": [{"split": split, "path": f"{r['config']}/{split}-*.parquet"}]} for r in records],
    )
    template = (resources.files(__name__) / "dataset_card.md").read_text(encoding="utf-8")
    card = DatasetCard.from_template(
        card_data,
        template_str=template,
        pretty_name=card_data.pretty_name,
        repo_id=repo_id,
        split=split,
        configs=[_section(r) for r in records],
        k_description=" or ".join(sorted({str(k) for r in records for k in r["k"]})),
        any_spoken_candidates=any(r["speak"] == "all" for r in records),
        example={"config": example["config"], "json": json.dumps(example["row"], ensure_ascii=False, indent=2)},
        total_failed=sum(r["failed_excluded"] for r in records),
        source_citations=sorted({SOURCE_CITATIONS[r["source"]["format"]] for r in records if is_the_corpus(r)}),
    )
    return str(card)
