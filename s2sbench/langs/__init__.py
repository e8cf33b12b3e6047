"""Language profiles as a user meets them: list, describe, check by a real round trip, start a new one.

The library behind ``s2s langs``::

    s2s langs                       -> list_profiles()           (format_profiles() prints them)
    s2s langs show CODE_OR_FILE     -> describe()
    s2s langs check CODE_OR_FILE    -> check()                   (CheckResult.summary() prints it)
    s2s langs new CODE -o FILE      -> write_profile_template()  (new_profile_template() is the text)

Every function takes a bundled language code (``en``, ``sw``) or the path of a profile file
(``profiles/sw.toml``); a code with no bundled profile is a :class:`~s2sbench.errors.ProfileError`
that says how to make one. :func:`check` is the round trip a build makes for every clip: speak the
profile's check sentence with its default engine and first voice, finish the clip exactly as the
build does (resample, trim, level, encode to WAV), run the signal checks, transcribe it with the
profile's ASR, normalize both texts with the profile's normalizer and compare them with its metric
and threshold. It passes when a build would keep that clip.
"""

from s2sbench.langs.profiles import ProfileRow, check_sentence, describe, format_profiles, list_profiles, no_profile_message
from s2sbench.langs.roundtrip import CheckResult, check, check_table, check_targets
from s2sbench.langs.template import new_profile_template, write_profile_template
from s2sbench.synth.espeak_data import EspeakVoice, espeak_voices

__all__ = [
    "CheckResult",
    "EspeakVoice",
    "ProfileRow",
    "check",
    "check_sentence",
    "check_table",
    "check_targets",
    "describe",
    "espeak_voices",
    "format_profiles",
    "list_profiles",
    "new_profile_template",
    "no_profile_message",
    "write_profile_template",
]
