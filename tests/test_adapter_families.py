"""What every speech adapter must do, checked family by family on its tiny random model: the
registry and ``--adapter auto`` find it, it declares its modes, it records what it loaded,
shared-prefix scores equal S2SBench's one-forward-per-candidate ones, batches change nothing, s2t
hears the audio, it refuses what it cannot score, and ``s2s score`` runs it end to end. What one
family alone does is tested in that family's module (tests/test_adapter_<family>.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from s2sbench.cli import app
from s2sbench.errors import EngineError
from s2sbench.profiles import load_profile
from s2sbench.scorer.adapters import (
    AdapterSpec,
    Prompt,
    adapter_modes,
    adapter_options,
    adapter_prompt_styles,
    audio_flamingo3,
    gemma3n,
    granite_speech,
    load_adapter,
    model_types,
    phi4_multimodal,
    qwen2_5_omni,
    qwen2_audio,
    qwen3_omni,
    voxtral,
)
from s2sbench.scorer.adapters.audio_llm import min_peft_version, read_audio
from s2sbench.scorer.adapters.moshi import Moshi
from tests.adapter_checks import (
    assert_batches_equal_one_at_a_time_and_naive,
    assert_results_directory,
    assert_shared_prefix_matches_naive,
    cpu_adapter,
    tiny_model,
)
from tests.models_af3 import build_tiny_audio_flamingo3
from tests.models_gemma3n import AUDIO_SOFT_TOKENS, build_tiny_gemma3n
from tests.models_granite import build_tiny_granite_speech
from tests.models_moshi import build_tiny_moshi
from tests.models_omni import build_tiny_qwen2_5_omni
from tests.models_phi4 import build_tiny_phi4_multimodal
from tests.models_qwen3_omni import build_tiny_qwen3_omni
from tests.models_speech import build_tiny_qwen2_audio
from tests.models_voxtral import TOKENS_PER_WINDOW, build_tiny_voxtral

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPT = Prompt.from_profile(load_profile("en"))
Tokenizer = Any


def tokens(*names: str) -> Callable[[Tokenizer], list[int]]:
    """Ids of these tokens, each one token of the vocabulary."""
    return lambda tokenizer: [tokenizer.convert_tokens_to_ids(name) for name in names]


def markup_ids(markup: str) -> Callable[[Tokenizer], list[int]]:
    """Ids of ``markup`` as the tokenizer encodes it (special tokens in it stay one token each)."""
    return lambda tokenizer: tokenizer(markup, add_special_tokens=False)["input_ids"]


def mel_frames(path: str) -> int:
    """10 ms frames of a clip, as Whisper's feature extractor counts them."""
    import soundfile as sf

    return int(sf.info(path).frames) // 160


def whisper_encoder_frames(path: str) -> int:
    """Whisper's encoder output frames of a clip after the 2x pooling: 25 per second."""
    return (((mel_frames(path) - 1) // 2 + 1) - 2) // 2 + 1


def qwen3_omni_encoder_frames(path: str) -> int:
    """Qwen3-Omni's encoder output frames: 13 per full 1 s chunk, and the last partial chunk through
    three stride-2 convolutions."""
    frames = mel_frames(path)
    rest = (frames % 100 - 1) // 2 + 1
    return (frames // 100) * 13 + ((rest - 1) // 2 + 1 - 1) // 2 + 1


def ten_a_second(path: str) -> float:
    """Granite Speech's audio tokens: 10 a second, in steps of 3."""
    import soundfile as sf

    return 10 * sf.info(path).duration


def phi4_encoder_frames(path: str) -> int:
    """One token per 8 frames of 25 ms windows every 10 ms."""
    return math.ceil(((read_audio(path).size - 400) // 160 + 1) / 8)


def voxtral_windows(path: str) -> int:
    """Voxtral's audio tokens: 375 per 30 s window, the last one padded."""
    import soundfile as sf

    return TOKENS_PER_WINDOW * math.ceil(sf.info(path).duration / 30)


@dataclass(frozen=True)
class AudioBlock:
    """How the s2t prefix ends: ``opens``, the audio token once per position the encoder's output
    fills (``count`` of the clip, give or take ``within``), ``closes``."""

    audio: str
    count: Callable[[str], float]
    within: int = 0
    opens: Callable[[Tokenizer], list[int]] = tokens()
    closes: Callable[[Tokenizer], list[int]] = tokens()


def omni_processor(processor_class: str) -> Callable[[Path], Any]:
    """The whole Qwen-Omni processor of a tiny model (it needs torchvision: image and video processors)."""
    def make(directory: Path) -> Any:
        import transformers
        from transformers import AutoFeatureExtractor, AutoTokenizer, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

        return getattr(transformers, processor_class)(
            image_processor=Qwen2VLImageProcessor(), video_processor=Qwen2VLVideoProcessor(),
            feature_extractor=AutoFeatureExtractor.from_pretrained(directory), tokenizer=AutoTokenizer.from_pretrained(directory),
        )
    return make


def phi4_processor(directory: Path) -> Any:
    """The whole Phi-4-multimodal processor of a tiny model (it needs torchvision: its image processor)."""
    from transformers import AutoFeatureExtractor, AutoTokenizer, Phi4MultimodalImageProcessor, Phi4MultimodalProcessor

    return Phi4MultimodalProcessor(
        image_processor=Phi4MultimodalImageProcessor(), audio_processor=AutoFeatureExtractor.from_pretrained(directory),
        tokenizer=AutoTokenizer.from_pretrained(directory),
    )


@dataclass(frozen=True)
class Family:
    """One adapter and the tiny model it is tested on."""

    name: str  # the adapter's registered name
    adapter_class: type
    model_types: tuple[str, ...]  # the config model_types --adapter auto picks it for
    build: Callable[..., Path]
    build_options: dict = field(default_factory=dict)
    modes: tuple[str, ...] = ("t2t", "s2t")
    prompt_styles: tuple[str, ...] = ("raw", "chat")
    takes_options: tuple[str, ...] = ()
    bos: str | None = None  # what the tokenizer puts before text
    identity: dict = field(default_factory=dict)  # what the identity records besides what every adapter's does
    audio: AudioBlock | None = None  # s2t's audio in the prefix
    whole: dict | None = None  # build options of a whole checkpoint around the thinker the adapter loads
    thinker_class: str | None = None
    checkpoint_kind: str | None = None  # named when another model's checkpoint is refused
    processor: Callable[[Path], Any] | None = None  # the family's own whole processor, the audio inputs' reference
    lora: dict | None = None  # build options of a checkpoint whose s2t needs a LoRA (peft)
    extra: tuple[str, str] | None = None  # (a module loading needs, the message that names the extra to install)

    @property
    def speech_mode(self) -> str:
        return self.modes[1]

    def directory(self, tmp_path_factory, **options) -> Path:
        return tiny_model(tmp_path_factory, self.build, **self.build_options, **options)

    def adapter(self, tmp_path_factory, **options):
        return cpu_adapter(self.directory(tmp_path_factory), self.name, **options)


QWEN2_AUDIO_BLOCK = AudioBlock("<|AUDIO|>", whisper_encoder_frames, 1, tokens("<|audio_bos|>"), tokens("<|audio_eos|>"))
GRANITE_SPEECH = dict(model_types=("granite_speech",), build=build_tiny_granite_speech, identity={"lora": False},
                      audio=AudioBlock("<|audio|>", ten_a_second, 3), lora={"lora": True})

FAMILIES = [
    Family("qwen2-audio", qwen2_audio.Qwen2Audio, ("qwen2_audio",), build_tiny_qwen2_audio, audio=QWEN2_AUDIO_BLOCK),
    Family("audio-flamingo-3", audio_flamingo3.AudioFlamingo3, ("audioflamingo3",), build_tiny_audio_flamingo3,
           audio=AudioBlock("<sound>", whisper_encoder_frames, 1)),
    Family("qwen2.5-omni", qwen2_5_omni.Qwen2_5Omni, ("qwen2_5_omni", "qwen2_5_omni_thinker"), build_tiny_qwen2_5_omni,
           audio=QWEN2_AUDIO_BLOCK, whole={"full": True}, thinker_class="Qwen2_5OmniThinkerForConditionalGeneration",
           checkpoint_kind="Qwen2.5-Omni", processor=omni_processor("Qwen2_5OmniProcessor")),
    Family("qwen3-omni", qwen3_omni.Qwen3Omni, ("qwen3_omni_moe", "qwen3_omni_moe_thinker"), build_tiny_qwen3_omni,
           audio=AudioBlock("<|audio_pad|>", qwen3_omni_encoder_frames, 0, tokens("<|audio_start|>"), tokens("<|audio_end|>")),
           whole={"full": True}, thinker_class="Qwen3OmniMoeThinkerForConditionalGeneration", checkpoint_kind="Qwen3-Omni",
           processor=omni_processor("Qwen3OmniMoeProcessor")),
    Family("granite-speech", granite_speech.GraniteSpeech, **GRANITE_SPEECH),
    Family("granite-speech-plus", granite_speech.GraniteSpeechPlus, **{**GRANITE_SPEECH, "model_types": ("granite_speech_plus",)},
           build_options={"plus": True}),
    Family("phi-4-multimodal", phi4_multimodal.Phi4Multimodal, ("phi4_multimodal",), build_tiny_phi4_multimodal, identity={"lora": False},
           audio=AudioBlock("<|endoftext11|>", phi4_encoder_frames), checkpoint_kind="Phi-4-multimodal", processor=phi4_processor,
           lora={"speech_lora": True}),
    Family("gemma-3n", gemma3n.Gemma3n, ("gemma3n",), build_tiny_gemma3n, bos="<bos>",
           audio=AudioBlock("<audio_soft_token>", lambda path: AUDIO_SOFT_TOKENS, 0, markup_ids("\n\n<start_of_audio>"), markup_ids("<end_of_audio>\n\n")),
           extra=("timm", r"needs timm .*pip install 's2sbench\[gemma3n\]'")),
    Family("voxtral", voxtral.Voxtral, ("voxtral",), build_tiny_voxtral, bos="<s>",
           audio=AudioBlock("[AUDIO]", voxtral_windows, 0, tokens("[BEGIN_AUDIO]")),
           extra=("mistral_common", r"needs mistral-common: pip install 's2sbench\[voxtral\]'")),
    Family("moshi", Moshi, ("moshi",), build_tiny_moshi, modes=("t2t", "s2s"), prompt_styles=("raw",), takes_options=("s2s_codebooks",),
           identity={"s2s_codebooks": "semantic", "s2s_scored_codebooks": [0], "s2s_text_stream": 3, "s2s_user_stream": "silence"}),
]


def family_named(name: str) -> Family:
    return next(family for family in FAMILIES if family.name == name)


def each_family(where: Callable[[Family], Any] = lambda family: True):
    """Parametrize a test over the families ``where`` holds for."""
    return pytest.mark.parametrize("family", [family for family in FAMILIES if where(family)], ids=lambda family: family.name)


def each_family_and_mode():
    pairs = [(family, mode) for family in FAMILIES for mode in family.modes]
    return pytest.mark.parametrize(("family", "mode"), pairs, ids=[f"{family.name}-{mode}" for family, mode in pairs])


@pytest.fixture
def adapter(family, tmp_path_factory):
    return family.adapter(tmp_path_factory)


@pytest.fixture
def directory(family, tmp_path_factory) -> Path:
    return family.directory(tmp_path_factory)


def four_candidates(items):
    return next(item for item in items if len(item.candidates) == 4)


def losses(scores) -> list[float]:
    return [score.loss for score in scores]


def start_ids(family: Family, tokenizer) -> list[int]:
    """What the tokenizer puts before text, by the family: ``bos``'s id, or nothing."""
    return [tokenizer.convert_tokens_to_ids(family.bos)] if family.bos else []


@each_family()
def test_the_registry_declares_the_family(family):
    assert all(model_types()[model_type] == family.name for model_type in family.model_types)
    assert adapter_modes(family.name) == family.modes
    assert adapter_prompt_styles(family.name) == family.prompt_styles
    assert adapter_options(family.name) == family.takes_options


@each_family()
def test_auto_detection_loads_the_family(family, tmp_path_factory):
    directories = [family.directory(tmp_path_factory)] + ([family.directory(tmp_path_factory, **family.whole)] if family.whole else [])
    for directory in directories:
        adapter = load_adapter(AdapterSpec(str(directory)))
        assert type(adapter) is family.adapter_class
        assert adapter.modes == family.modes
        identity = adapter.identity()
        device = identity["device"]  # auto: the GPU where there is one
        assert identity == {"adapter": family.name, "model": str(directory), "dtype": "float32" if device == "cpu" else "bfloat16",
                            "device": device, "bos": {"policy": "auto", "tokens": start_ids(family, adapter.tokenizer)}, **family.identity}


@each_family()
def test_identity_records_the_device_and_dtype_asked_for(family, adapter, directory):
    assert adapter.identity() == {"adapter": family.name, "model": str(directory), "dtype": "float32", "device": "cpu",
                                  "bos": {"policy": "auto", "tokens": start_ids(family, adapter.tokenizer)}, **family.identity}


@each_family_and_mode()
def test_shared_prefix_matches_naive(family, mode, tmp_path_factory, items):
    adapter = family.adapter(tmp_path_factory)
    for item in items:  # K=2 and K=4
        assert_shared_prefix_matches_naive(adapter, item, mode, PROMPT)


@each_family_and_mode()
def test_batches_of_eight_equal_one_at_a_time_and_naive(family, mode, tmp_path_factory, ten_items):
    # ten_items' clips are 2 to 12 s: a batch holds contexts and candidates of different lengths, shorter clips padded
    assert_batches_equal_one_at_a_time_and_naive(family.adapter(tmp_path_factory), ten_items, mode, PROMPT)


@each_family()
def test_naive_features_once_matches(family, adapter, items):
    item = four_candidates(items)
    per_candidate = adapter.naive_score(item, family.speech_mode, PROMPT)
    once = adapter.naive_score(item, family.speech_mode, PROMPT, features_per_candidate=False)
    assert losses(per_candidate) == pytest.approx(losses(once), abs=1e-6)


@each_family(lambda family: family.audio)
def test_s2t_puts_the_audio_block_after_the_speech_prefix(family, adapter, items):
    tokenizer, block = adapter.tokenizer, family.audio
    audio = tokenizer.convert_tokens_to_ids(block.audio)
    prefix = tokenizer(PROMPT.speech_prefix)["input_ids"]  # with what the tokenizer starts text with
    assert prefix[: len(start_ids(family, tokenizer))] == start_ids(family, tokenizer)
    for item in items:
        ids = adapter.encode_speech(item, PROMPT)["input_ids"][0].tolist()
        count = ids.count(audio)
        assert abs(count - block.count(item.context_audio)) <= block.within, item.id
        assert ids == prefix + block.opens(tokenizer) + [audio] * count + block.closes(tokenizer)  # the audio block ends the prefix
        assert tokenizer.decode(ids).count(item.context[:20]) == 0  # the audio, not the text


@each_family(lambda family: "s2t" in family.modes)
def test_s2t_hears_the_audio_not_the_text(adapter, items):
    for item in (items[0], four_candidates(items)):
        other = next(i for i in items if i.id != item.id)
        heard, elsewhere = adapter.score(item, "s2t", PROMPT), adapter.score(replace(item, context_audio=other.context_audio), "s2t", PROMPT)
        read = adapter.score(item, "t2t", PROMPT)
        # the candidates are the same tokens in both modes and with other audio; the losses differ because the context does
        assert [a.n_tokens for a in heard] == [b.n_tokens for b in elsewhere] == [c.n_tokens for c in read]
        assert losses(heard) != pytest.approx(losses(elsewhere), abs=1e-3), item.id
        assert losses(heard) != pytest.approx(losses(read), abs=1e-3), item.id


@each_family()
def test_modes_it_cannot_score_are_errors(family, adapter, items):
    for mode in sorted({"t2t", "s2t", "s2s"} - set(family.modes)):
        with pytest.raises(EngineError, match=rf"^{re.escape(family.name)} cannot score mode '{mode}' \(it scores {', '.join(family.modes)}\)$"):
            adapter.score(items[0], mode, PROMPT)
    with pytest.raises(EngineError, match="context audio"):
        adapter.score(replace(items[0], context_audio=None), family.speech_mode, PROMPT)


@each_family(lambda family: family.extra)
def test_without_its_extra_loading_names_the_extra(family, directory, monkeypatch):
    import importlib.util

    module, message = family.extra
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else find_spec(name, *a))
    with pytest.raises(EngineError, match=message):
        load_adapter(AdapterSpec(str(directory), device="cpu", dtype="float32"), family.name)


@each_family(lambda family: family.checkpoint_kind)
def test_another_model_is_refused(family, tmp_path):
    from transformers import Qwen2Config

    Qwen2Config(vocab_size=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2).save_pretrained(tmp_path)
    with pytest.raises(EngineError, match=f"'qwen2', not a {re.escape(family.checkpoint_kind)} checkpoint"):
        load_adapter(AdapterSpec(str(tmp_path), device="cpu"), family.name)


@each_family(lambda family: family.whole)
def test_whole_checkpoint_loads_only_the_thinker(family, adapter, tmp_path_factory, items):
    import transformers

    whole = cpu_adapter(family.directory(tmp_path_factory, **family.whole), family.name)
    assert type(whole.model) is getattr(transformers, family.thinker_class)
    item = four_candidates(items)
    for mode in family.modes:  # the thinker's weights were found under "thinker.", not left random
        assert losses(whole.score(item, mode, PROMPT)) == pytest.approx(losses(adapter.score(item, mode, PROMPT)), abs=1e-6)


@each_family(lambda family: family.processor)
def test_audio_inputs_match_the_familys_processor(family, adapter, directory, items):
    """The family's processor itself needs torchvision; where it is installed, the adapter's audio
    inputs must be exactly the processor's."""
    pytest.importorskip("torchvision")
    import torch

    processor = family.processor(directory)
    for item in items:
        ours = adapter.encode_speech(item, PROMPT)
        theirs = processor(text=PROMPT.speech_prefix + adapter.audio_markup, audio=[read_audio(item.context_audio)], return_tensors="pt")
        for key, value in ours.items():
            assert torch.equal(value, theirs[key]), key


@each_family(lambda family: family.lora)
def test_a_lora_checkpoint_without_peft_scores_t2t_and_refuses_s2t(family, adapter, tmp_path_factory, items):
    import importlib.util

    if importlib.util.find_spec("peft") is not None:
        pytest.skip("peft is installed: transformers would look for the LoRA this checkpoint lacks")
    with_lora = load_adapter(AdapterSpec(str(family.directory(tmp_path_factory, **family.lora)), device="cpu", dtype="float32"), family.name)
    assert with_lora.identity()["lora"] is False
    item = items[0]
    assert losses(with_lora.score(item, "t2t", PROMPT)) == pytest.approx(losses(adapter.score(item, "t2t", PROMPT)), abs=1e-6)
    with pytest.raises(EngineError, match=re.escape(f"pip install 'peft>={min_peft_version()}'")):
        with_lora.score(item, "s2t", PROMPT)


@each_family(lambda family: "s2t" in family.modes)
def test_score_command_writes_both_modes_and_degradation(family, directory, spoken_build, items, tmp_path):
    output = tmp_path / "results"
    result = CliRunner().invoke(app, ["score", str(spoken_build), "--model", str(directory), "-o", str(output), "-q", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "| story | s2t |" in result.output and "| question | t2t |" in result.output
    assert_results_directory(output, family.name, items)  # picked by --adapter auto, the default
