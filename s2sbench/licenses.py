"""The licence a published dataset carries: its data's, never this tool's, and never guessed.

A source format is a file layout, not a corpus: a CSV in StoryCloze's columns may hold anyone's
stories. Builders of known corpora declare the corpus's terms (a Hub licence id, with a name and a
link where it is ``other``), and those terms apply only when the source *is* that corpus: a Hub
dataset id the builder names as the corpus (``hf://juletxara/xstory_cloze``), this project's own
samples, or a user who says so with ``--license corpus``. Any other source's licence is the user's
to give: ``s2s build --license`` records it in ``build.json``, ``s2s push --license`` gives or
overrides it, and a push without one is refused before anything is uploaded (a re-push keeps the
licence already published for the config; changing it takes ``--license``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s2sbench.errors import S2SBenchError

# The licence ids the Hub accepts in a card's `license:` field (its documented list).
HUB_LICENSES = frozenset(
    """
    apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m afl-3.0
    artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0
    cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0
    cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0
    etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c
    ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
    deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3 llama4 gemma unknown other
    """.split()
)


@dataclass(frozen=True)
class DataLicense:
    """A licence as a dataset card states it: a Hub id, and for ``other`` its name and a link."""

    id: str
    name: str | None = None
    link: str | None = None

    @classmethod
    def parse(cls, license_id: str, name: str | None = None, link: str | None = None, option: str = "--license") -> DataLicense:
        """A checked licence from the command line's ``--license``/``--license-name``/``--license-link``."""
        license_id = license_id.strip().lower()
        if license_id == CORPUS:
            if name or link:
                raise S2SBenchError(f"{option} corpus takes the corpus's own terms: no --license-name or --license-link")
            return cls(CORPUS)
        if license_id not in HUB_LICENSES:
            raise S2SBenchError(f"{option} {license_id!r}: not a Hub licence id (e.g. cc-by-4.0, cc-by-nc-4.0, mit, apache-2.0, or other), "
                                "nor 'corpus' (the source is the corpus its format names)")
        if license_id == "other" and not (name and link):
            raise S2SBenchError(f"{option} other needs --license-name NAME and --license-link URL (the terms the data is under)")
        if link and not link.startswith(("https://", "http://")):
            raise S2SBenchError(f"--license-link {link!r}: expected an http(s) URL")
        return cls(license_id, name or None, link or None)

    @classmethod
    def from_dict(cls, record: dict[str, Any] | str | None) -> DataLicense | None:
        """From ``build.json`` or a provenance record (older records hold the bare id)."""
        if not record:
            return None
        if isinstance(record, str):
            return cls(record)
        return cls(record["id"], record.get("name"), record.get("link"))

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in (("id", self.id), ("name", self.name), ("link", self.link)) if value}

    def __str__(self) -> str:
        if self.id == "other" and self.name:
            return f"{self.name} ({self.link})" if self.link else self.name
        return self.id


# `--license corpus`: the source is the corpus its format names, so the corpus's declared terms apply.
CORPUS = "corpus"

# This project's own bundled samples (sample:en, sample:zh) are original text, released with it.
SAMPLE_LICENSE = DataLicense("apache-2.0")


def unknown_license(where: str) -> S2SBenchError:
    return S2SBenchError(f"{where}: the licence of this data is unknown (a source's format does not say whose data it is): "
                         "pass --license ID (a Hub licence id such as cc-by-4.0, or other with --license-name and --license-link), "
                         "or --license corpus if the file is the corpus its format names")


def resolve_license(given: DataLicense | None, recorded: DataLicense | None, corpus: DataLicense | None, recognized: DataLicense | None,
                    where: str) -> DataLicense | None:
    """The licence to publish a build under, or None when nobody has said it.

    ``given`` (``--license`` at push) wins over ``recorded`` (``--license`` at build time, in
    build.json); either may be ``corpus``, which takes ``corpus``, the terms the source format
    declares for its corpus. ``recognized`` is the corpus's licence when the source is known to be
    that corpus (a bundled sample, a Hub id the builder names).
    """
    chosen = given or recorded
    if chosen is not None and chosen.id == CORPUS:
        if corpus is None:
            raise S2SBenchError(f"{where}: --license corpus: the source's format names no corpus with declared terms; pass a licence id")
        return corpus
    return chosen or recognized
