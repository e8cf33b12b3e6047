"""s2sbench: build, check, publish and score spoken benchmarks of language understanding.

The library API mirrors the command line:

>>> from s2sbench import BuildOptions, build
>>> summary = build(BuildOptions(source="sample:en", output=Path("builds/demo-en")))
"""

import os
from importlib.metadata import PackageNotFoundError, version

# Xet uploads only work with the real Hub; huggingface_hub reads this once, at import.
if os.environ.get("HF_ENDPOINT") and "huggingface.co" not in os.environ["HF_ENDPOINT"]:
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")

try:
    __version__ = version("s2sbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

from s2sbench.builddir import BuildDirectory
from s2sbench.errors import (
    BuildDirectoryError,
    EngineError,
    ProfileError,
    S2SBenchError,
    SourceError,
    SourceRowError,
)
from s2sbench.items import Item
from s2sbench.pipeline import BuildOptions, BuildSummary, build
from s2sbench.profiles import LanguageProfile, load_profile
from s2sbench.synth.postprocess import AudioOptions

__all__ = [
    "AudioOptions",
    "BuildDirectory",
    "BuildDirectoryError",
    "BuildOptions",
    "BuildSummary",
    "EngineError",
    "Item",
    "LanguageProfile",
    "ProfileError",
    "S2SBenchError",
    "SourceError",
    "SourceRowError",
    "__version__",
    "build",
    "load_profile",
]
