"""s2sbench: build, check, publish and score spoken benchmarks of language understanding.

The library API mirrors the command line:

>>> from s2sbench import BuildOptions, build
>>> summary = build(BuildOptions(source="sample:en", output=Path("builds/demo-en")))
"""

from importlib.metadata import PackageNotFoundError, version

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
