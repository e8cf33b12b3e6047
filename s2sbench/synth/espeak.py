"""espeak-ng through its C library (``libespeak-ng``), the embedded default engine.

The library comes from ``espeakng-loader`` (libespeak-ng 1.52 with its data, installed by the
``espeak`` extra) or, failing that, from the system. Mandarin (``cmn``) needs 1.52 or newer:
older builds read the tone digits aloud (espeak-ng issues 1236, 1370). espeak-ng is GPL-3.0; it is
loaded at run time, never linked or shipped by this package.

Voices are espeak voice names with optional variants: ``en-us``, ``en-us+f3``, ``cmn``.

libespeak-ng keeps waveform state across utterances (even across ``espeak_Terminate``), so the same
text comes out a few samples different depending on what was said before. Clips are content
addressed and must not depend on history: on POSIX each clip is spoken in a forked child of a
process that has initialised the library but never spoken, which makes every clip identical in
every run, worker and process. The process forked is a small one of its own (the "zygote", started
by exec, not by a fork of the builder): a fork costs the page tables of all the memory it copies, and
a builder that has loaded Whisper holds a gigabyte, where the zygote holds 40 MB (measured here:
102 ms a clip forked from a 1.4 GB process, 44 ms from a small one, on a shared 2-core CPU). It also
keeps forks out of a process whose threads (torch's, the recognizer's) could hold a lock mid-fork.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import json
import os
import struct
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

import numpy as np

from s2sbench.errors import EngineError
from s2sbench.synth.espeak_data import data_directory, espeak_voices
from s2sbench.synth.spec import TTSSpec, VoiceSettings

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_ESPEAK_RATE = 1
_DEFAULT_WORDS_PER_MINUTE = 175
_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

# libespeak-ng keeps global state: one initialisation per process, one synthesis at a time.
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


def _locate_library() -> tuple[str, bytes | None, str]:
    try:
        import espeakng_loader
    except ImportError:
        system = ctypes.util.find_library("espeak-ng")
        if system is None:
            raise EngineError("espeak-ng not found: pip install 's2sbench[espeak]' (or install espeak-ng)") from None
        return system, None, "system"
    return espeakng_loader.get_library_path(), str(data_directory()).encode(), "espeakng-loader"


def _initialise() -> dict[str, Any]:
    if _STATE:
        return _STATE
    path, data, origin = _locate_library()
    try:
        library = ctypes.CDLL(path)
    except OSError as exc:
        raise EngineError(f"cannot load {path}: {exc}") from exc
    sample_rate = library.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
    if sample_rate <= 0:
        raise EngineError(f"espeak_Initialize failed ({path})")
    library.espeak_Info.restype = ctypes.c_char_p
    version = library.espeak_Info(None).decode()
    chunks: list[np.ndarray] = []

    def collect(wav, count, _events):  # called by espeak for each synthesized chunk
        if count > 0:
            chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0

    callback = _SynthCallback(collect)  # kept referenced in _STATE so it is not collected
    library.espeak_SetSynthCallback(callback)
    _STATE.update(library=library, sample_rate=sample_rate, version=version, origin=origin, chunks=chunks, callback=callback)
    return _STATE


def identity_of(spec: TTSSpec) -> dict[str, Any]:
    """The engine's identity (initialising the library is cheap: no model to load)."""
    state = _initialise()
    return {"engine": "espeak", "model": None, "version": state["version"], "library": state["origin"]}


class EspeakEngine:
    def __init__(self, spec: TTSSpec):
        if spec.model:
            raise EngineError(f"espeak takes no model (got {spec.model!r}); choose voices with --voice")
        self.spec = spec
        self._state = _initialise()

    def check_voice(self, voice: str | None) -> None:
        """Raise :class:`EngineError` when espeak-ng's data has no voice ``voice`` (variants after ``+`` aside)."""
        if voice is None:
            return
        known = {v.voice.lower() for v in espeak_voices()}
        base = voice.split("+")[0].lower()
        if known and base not in known:
            close = difflib.get_close_matches(base, sorted(known), n=4, cutoff=0.6)
            hint = f"; close: {', '.join(close)}" if close else ""
            raise EngineError(f"espeak-ng has no voice {voice!r}{hint} (`s2s langs show LANG` lists a profile's voices)")

    def identity(self) -> dict[str, Any]:
        return identity_of(self.spec)

    def synthesize(self, text: str, language: str, settings: VoiceSettings) -> tuple[np.ndarray, int]:
        voice = settings.voice or self.spec.language or language
        rate = int(round(_DEFAULT_WORDS_PER_MINUTE * settings.rate))
        with _LOCK:
            samples = _speech_of(*_spoken_in_zygote(voice, rate, text), voice, text) if hasattr(os, "fork") else _speak(voice, rate, text)
        return samples, self._state["sample_rate"]


_NO_VOICE = 3
_NO_AUDIO = 4


def _speak(voice: str, rate: int, text: str) -> np.ndarray:
    """Speak in this process (changes the library's state: see the module docstring)."""
    state = _initialise()
    library = state["library"]
    if library.espeak_SetVoiceByName(voice.encode()) != 0:
        raise EngineError(f"espeak-ng has no voice {voice!r} (try `espeak-ng --voices`)")
    library.espeak_SetParameter(_ESPEAK_RATE, rate, 0)
    state["chunks"].clear()
    encoded = text.encode("utf-8")
    status = library.espeak_Synth(ctypes.c_char_p(encoded), ctypes.c_size_t(len(encoded) + 1), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
    library.espeak_Synchronize()
    if status != 0 or not state["chunks"]:
        raise EngineError(f"espeak-ng produced no audio for {text[:40]!r} (status {status})")
    return np.concatenate(state["chunks"])


def _spoken_in_child(voice: str, rate: int, text: str) -> tuple[int, bytes]:
    """(exit code, little-endian int16 samples) of speaking in a forked child, so that this process's
    library state stays pristine."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: speak, send the samples, exit without running any Python cleanup
        code = 0
        try:
            os.close(read_end)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(_speak(voice, rate, text).astype("<i2").tobytes())
        except EngineError as error:
            code = _NO_VOICE if "no voice" in str(error) else _NO_AUDIO
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), data


def _speech_of(code: int, data: bytes, voice: str, text: str) -> np.ndarray:
    if code == _NO_VOICE:
        raise EngineError(f"espeak-ng has no voice {voice!r} (try `espeak-ng --voices`)")
    if code != 0 or not data:
        raise EngineError(f"espeak-ng produced no audio for {text[:40]!r} (exit {code})")
    return np.frombuffer(data, dtype="<i2")


# --------------------------------------------------------------------------- the zygote
# A request: a 4-byte length and a JSON object {voice, rate, text}; an answer: the child's exit code
# (4 bytes, signed), the length of its samples (8 bytes), the samples.
_REQUEST, _ANSWER = struct.Struct("<I"), struct.Struct("<iQ")
_ZYGOTE: dict[str, Any] = {}  # "process", and "pid": the process that started it (a fork of ours starts its own)


def _spoken_in_zygote(voice: str, rate: int, text: str) -> tuple[int, bytes]:
    """:func:`_spoken_in_child` of the zygote (started on first use); spoken in a child of this process
    instead when the zygote cannot be started or has ended (the same samples: its library state is as
    pristine as ours)."""
    if _ZYGOTE.get("pid") != os.getpid():
        _ZYGOTE.update(process=_start_zygote(), pid=os.getpid())
    process = _ZYGOTE["process"]
    if process is not None:
        try:
            request = json.dumps({"voice": voice, "rate": rate, "text": text}).encode()
            process.stdin.write(_REQUEST.pack(len(request)) + request)
            process.stdin.flush()
            code, size = _ANSWER.unpack(_read_exactly(process.stdout, _ANSWER.size))
            return code, _read_exactly(process.stdout, size)
        except (OSError, EOFError):
            _ZYGOTE["process"] = None
    return _spoken_in_child(voice, rate, text)


def _start_zygote() -> subprocess.Popen | None:
    package_root = str(Path(__file__).resolve().parents[2])
    command = [sys.executable, "-c", f"import sys; sys.path.insert(0, {package_root!r}); from s2sbench.synth.espeak import serve; serve()"]
    try:
        return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError(f"the espeak-ng zygote ended ({len(data)} of {size} bytes)")
    return data


def serve(requests: IO[bytes] | None = None, answers: IO[bytes] | None = None) -> None:
    """The zygote's loop: initialise the library, never speak, and answer each request from a forked
    child, until the requests end (the process that started it has closed them, or has died)."""
    requests, answers = requests or sys.stdin.buffer, answers or sys.stdout.buffer
    try:
        _initialise()
    except EngineError:
        return  # its first answer is then missing: the caller speaks in children of its own
    while header := requests.read(_REQUEST.size):
        request = json.loads(_read_exactly(requests, _REQUEST.unpack(header)[0]))
        code, data = _spoken_in_child(request["voice"], request["rate"], request["text"])
        answers.write(_ANSWER.pack(code, len(data)) + data)
        answers.flush()
