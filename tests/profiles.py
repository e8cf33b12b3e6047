"""Language profiles the tests make: the bundled English profile with other prompts (and code and name)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGLISH_SPEECH_PREFIX = "Below is a segment of alternating speech and text content: "


def english_profile_with(path: Path, text_prefix: str, speech_prefix: str, code: str = "en", name: str = "English") -> Path:
    """``path``: the English profile with these prompts, code and name (written as TOML basic strings:
    JSON strings, whose escapes TOML shares, so any characters stay what they are)."""
    text = (ROOT / "s2sbench" / "profiles" / "en.toml").read_text(encoding="utf-8")
    text = text.replace('code = "en"', f"code = {json.dumps(code)}").replace('name = "English"', f"name = {json.dumps(name, ensure_ascii=False)}")
    text = text.replace('text_prefix = ""', f"text_prefix = {json.dumps(text_prefix, ensure_ascii=False)}")
    text = text.replace(f'speech_prefix = "{ENGLISH_SPEECH_PREFIX}"', f"speech_prefix = {json.dumps(speech_prefix, ensure_ascii=False)}")
    path.write_text(text, encoding="utf-8")
    return path
