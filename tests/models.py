"""Small real models built in code for tests (no downloads)."""

from __future__ import annotations

from pathlib import Path


def build_tiny_vits(directory: Path, seed: int = 0) -> Path:
    """A randomly initialised, tiny Coqui VITS (characters, no phonemizer): ~5 MB, ~2 s."""
    import torch
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    torch.manual_seed(seed)
    args = VitsArgs(
        hidden_channels=16,
        hidden_channels_ffn_text_encoder=32,
        num_heads_text_encoder=2,
        num_layers_text_encoder=1,
        resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]],
        upsample_rates_decoder=[8, 8, 4],
        upsample_initial_channel_decoder=32,
        upsample_kernel_sizes_decoder=[16, 16, 8],
        num_layers_flow=1,
        num_layers_posterior_encoder=1,
        init_discriminator=False,
    )
    characters = CharactersConfig(
        characters_class="TTS.tts.models.vits.VitsCharacters",
        pad="_",
        eos="",
        bos="",
        blank=None,
        characters="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        punctuations=" !'(),-.:;?",
        phonemes="",
    )
    config = VitsConfig(model_args=args, use_phonemes=False, characters=characters, text_cleaner="english_cleaners")
    config.audio.sample_rate = 22050
    model = Vits(config)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, directory / "model.pth")
    config.save_json(str(directory / "config.json"))
    return directory
