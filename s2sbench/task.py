"""The task a build's items are scored by, as data that travels with them.

A build records its task in ``build.json`` (``task``); every export and Hub push carries it per
config in ``s2sbench/<config>.json``, with K and the metric's conventions added. ``s2s score``
reads it back from whichever copy it scores, so a build directory, its ``--to-dir`` export and
its Hub copy are scored with the same prompts. What determines a score and lives in the language
profile (the prompts around the parts; the templates that made question candidates, kept for the
record) is copied here, so the task does not depend on the profile file staying where it was.
"""

from __future__ import annotations

from typing import Any

from s2sbench.errors import S2SBenchError
from s2sbench.profiles import LanguageProfile, prompt_problem

PROMPT_FIELDS = ("text_prefix", "speech_prefix", "separator")
TEMPLATE_FIELDS = ("question_context", "question_candidate")

# How a score is read off the losses (s2sbench.scorer.metric), stated with every published config.
CONVENTIONS = {
    "loss": "mean token negative log-likelihood of a candidate given the context (text in t2t, the context audio in s2t)",
    "acc": "the plausible candidate has the strictly lowest loss",
    "pairwise_acc": "share of (plausible, implausible) pairs with the plausible loss lower (K=2: strictly; K=4: lower or equal)",
    "acc_sum": "the plausible candidate has the highest summed log-likelihood (lm-evaluation-harness's acc)",
    "acc_bytes": "the highest summed log-likelihood per byte (lm-evaluation-harness's acc_bytes)",
    "chance": "the mean of 1/K over the items",
    "degradation": "acc(t2t) - acc(s2t) on the same items",
}


def task_record(profile: LanguageProfile, lang: str) -> dict[str, Any]:
    """What scoring a build needs from its profile: language, prompts, templates, and which profile
    (its code, name and file digest; never its path, which is local)."""
    return {
        "lang": lang,
        "profile": {"code": profile.code, "name": profile.name, "sha256": profile.digest},
        "prompts": {name: getattr(profile, name) for name in PROMPT_FIELDS},
        "templates": {name: getattr(profile, name) for name in TEMPLATE_FIELDS},
    }


def published_task(task: dict[str, Any], k: list[int]) -> dict[str, Any]:
    """The task of one pushed config: the build's, with the K of its items and the conventions."""
    return {**task, "k": sorted(k), "conventions": CONVENTIONS}


def task_profile(task: dict[str, Any], where: str = "task") -> LanguageProfile:
    """A profile holding a recorded task's prompts and templates (all that scoring reads of it);
    a prompt that is not one (:func:`~s2sbench.profiles.prompt_problem`) is an error naming ``where``
    (the file the task was read from) and the field."""
    profile = task.get("profile") or {}
    lang = str(task.get("lang") or profile.get("code") or "en")
    known = {}
    for section, names in (("templates", TEMPLATE_FIELDS), ("prompts", PROMPT_FIELDS)):
        recorded = task.get(section) or {}
        for name in names:
            if name in recorded:
                known[name] = str(recorded[name])
                if (problem := prompt_problem(known[name])) is not None:
                    raise S2SBenchError(f"{where}: task.{section}.{name}: {problem}")
    return LanguageProfile(code=lang, name=str(profile.get("name") or lang), digest=str(profile.get("sha256") or ""), **known)


def prompt_differences(published: LanguageProfile, given: LanguageProfile) -> list[str]:
    """``field 'old' -> 'new'`` for each prompt of ``given`` that differs from the published task's."""
    return [f"{name} {getattr(published, name)!r} -> {getattr(given, name)!r}" for name in PROMPT_FIELDS
            if getattr(published, name) != getattr(given, name)]
