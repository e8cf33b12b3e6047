"""Moshi (``MoshiForConditionalGeneration``): speech continuation over Mimi codes (s2s), and text (t2t).

Moshi models three parallel streams, one step per Mimi frame (12.5 a second): a text stream, its own
speech (K codebooks; codebook 0 semantic, the others acoustic, delayed one step) and the user's
speech (K codebooks, the same delays). The temporal transformer reads the sum of every stream's
embeddings at steps ``0..p-1``; from its output at ``p-1`` the depth decoder predicts step ``p`` of
Moshi's own speech, codebook by codebook, each given the step's text token and the codebooks
before it. Only Moshi's own stream is predicted, so the spoken story goes there.

s2s: the loss of a candidate is the mean NLL of its Mimi codes given the context's, the
speech-continuation likelihood of spoken StoryCloze (TWIST, slamkit's sSC):

- Each clip (read at Mimi's rate) is encoded on its own, so a candidate's codes never depend on the
  context's audio (as a candidate's tokens never merge with the context's in text); the context's
  frames are followed by the candidate's, in one time line.
- Step 0 is Moshi's start step (text ``vocab_size``, every audio code ``audio_vocab_size``, as
  ``get_unconditional_inputs``); audio frame ``f`` sits at step ``f + 1`` in codebook 0 and at step
  ``f + 2`` in the others (BOS, ``audio_vocab_size``, before it), and the step after the last frame
  holds ``audio_vocab_size`` in codebook 0, as Moshi's own delay pattern (``build_delay_pattern_mask``)
  ends.
- The text stream holds the model's text padding token (``config.pad_token_id``, else the
  tokenizer's; id 3 in Moshi's checkpoints) at every step after the start: what Moshi's text stream
  holds between words, so no words are given with the speech. The user stream holds the codes of
  one frame of silence at every step (with the same delays), as ``generate`` fills it when no one
  speaks to Moshi.
- Scored: codebook 0 of every candidate frame (``--s2s-codebooks semantic``, the default: one token
  a frame), or every codebook of every candidate frame (``all``: K tokens a frame, an acoustic code
  predicted after the next frame's semantic code, as Moshi generates them). The context's codes are
  never scored, nor the padding after the last frame.

Shared prefix: the context's steps ``0..C`` (C context frames) run once through the temporal
transformer with the cache, which is repeated for the K candidates; their steps run as one
right-padded batch with explicit position ids; then every scored step of the batch goes through the
depth decoder in one call. Several items share each forward (:meth:`Moshi.score_items`); each clip is
encoded in a call of its own, as Mimi's encoder takes no padding mask. :meth:`Moshi.naive_score` is
the reference: per candidate, its clips encoded again and one full forward of the model (its own
embedding of the three streams), then the depth decoder one step at a time.

t2t: the text tokens alone through the temporal transformer and its text head, with no audio
streams (transformers' ``MoshiForCausalLM``, "only usable for text"): what remains of Moshi's text
LM. s2t is not scored: Moshi's text stream is aligned with its speech (a token where a word is
spoken, padding between), so a text candidate after a spoken context has no frames to sit on.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from s2sbench.errors import EngineError
from s2sbench.scorer.adapters import Adapter, AdapterSpec, CandidateScore, Prompt, ScoreItem, register_adapter
from s2sbench.scorer.adapters.audio_llm import loading_error, model_source, read_audio, speech_lm_class
from s2sbench.scorer.adapters.causal_lm import resolve_device_dtype, right_pad, score_after_prefixes
from s2sbench.scorer.adapters.tokens import SequenceStart

CODEBOOK_CHOICES = ("semantic", "all")  # --s2s-codebooks


@dataclass(frozen=True)
class Streams:
    """Moshi's input at every step of one time line: the text stream (steps), its own speech and
    the user's (codebooks x steps each)."""

    text: Any
    moshi: Any
    user: Any

    def steps(self, start: int, stop: int) -> Streams:
        return Streams(self.text[start:stop], self.moshi[:, start:stop], self.user[:, start:stop])


def delayed(codes, pad: int):
    """Frames (codebooks x F) on Moshi's steps (codebooks x F + 2): step 0 the start, frame f at step
    f + 1 in codebook 0 and f + 2 in the others, ``pad`` where a codebook holds no frame."""
    import torch

    count, frames = codes.shape
    grid = torch.full((count, frames + 2), pad, dtype=torch.long, device=codes.device)
    grid[0, 1 : frames + 1] = codes[0]
    grid[1:, 2:] = codes[1:]
    return grid


def scored_mask(codebooks: int, context_frames: int, frames: int, every_codebook: bool):
    """Which (step, codebook) of steps ``C + 1 .. F + 1`` (F frames in all, C of the context) are a
    candidate frame's code: codebook 0 at steps C + 1 .. F, the others (with ``every_codebook``) at
    C + 2 .. F + 1. Rows: those steps; columns: the codebooks."""
    import torch

    mask = torch.zeros((frames - context_frames + 1, codebooks), dtype=torch.bool)
    mask[:-1, 0] = True
    if every_codebook:
        mask[1:, 1:] = True
    return mask


class Moshi(Adapter):
    modes = ("t2t", "s2s")
    takes_options = ("s2s_codebooks",)  # --s2s-codebooks

    def __init__(self, spec: AdapterSpec):
        self.spec = spec
        self.device, self.dtype = resolve_device_dtype(spec)
        self.codebooks = spec.options.get("s2s_codebooks", "semantic")
        if self.codebooks not in CODEBOOK_CHOICES:
            raise EngineError(f"--s2s-codebooks must be one of {', '.join(CODEBOOK_CHOICES)}, not {self.codebooks!r}")
        self.model, self.tokenizer = _load(spec.model, self.device, self.dtype)
        config = self.model.config
        self.count = self.model.num_codebooks  # per stream
        self.audio_pad = config.audio_vocab_size  # Moshi's BOS and padding code (its embeddings' last row)
        self.text_start = config.vocab_size  # the text stream's start token (its embedding's last row)
        text_pad = config.pad_token_id if config.pad_token_id is not None else self.tokenizer.pad_token_id
        if text_pad is None:
            raise EngineError(f"{spec.model!r}: neither its config nor its tokenizer names a text padding token (pad_token_id)")
        self.text_pad = int(text_pad)
        self.rate = int(config.audio_encoder_config.sampling_rate)
        self.max_steps = int(config.max_position_embeddings)
        self.start = SequenceStart.of(self.tokenizer, spec.options.get("bos", "auto"))
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        self.temporal = self.model.decoder.model  # the temporal transformer (MoshiModel): text alone in t2t, all streams in s2s
        self.text_head = self.model.decoder.lm_head
        self.silence = self._silence()

    def identity(self) -> dict[str, Any]:
        scored = [0] if self.codebooks == "semantic" else list(range(self.count))
        return {"adapter": "moshi", "model": self.spec.model, "dtype": str(self.dtype).replace("torch.", ""), "device": self.device,
                "bos": self.start.as_dict(), "s2s_codebooks": self.codebooks, "s2s_scored_codebooks": scored,
                "s2s_text_stream": self.text_pad, "s2s_user_stream": "silence"}

    def check_mode(self, mode: str) -> None:
        if mode not in self.modes:
            raise EngineError(f"moshi cannot score mode {mode!r} (it scores {', '.join(self.modes)})")

    # Audio -------------------------------------------------------------------------------------

    def encode_clip(self, path: str):
        """The clip's Mimi codes (codebooks x frames), the clip read at Mimi's rate."""
        import torch

        samples = torch.from_numpy(read_audio(path, self.rate)).to(self.device, self.dtype)
        with torch.inference_mode():  # Mimi caches its codebooks on first use: always under inference mode
            return self.model.audio_encoder.encode(samples.view(1, 1, -1), num_quantizers=self.count)[0][0]

    def _silence(self):
        """The codes of one frame of silence (codebooks), the user stream at every step, as ``generate`` makes it."""
        import torch

        config = self.model.config
        frame = torch.zeros((1, 1, int(self.rate / config.audio_encoder_config.frame_rate)), dtype=self.dtype, device=self.device)
        with torch.inference_mode():
            return self.model.audio_encoder.encode(frame, num_quantizers=self.count)[0][0, :, 0]

    def clips(self, item: ScoreItem) -> list[str]:
        if not item.context_audio:
            raise EngineError(f"{item.id}: s2s needs context audio; this item was not spoken")
        if not item.candidate_audio:
            raise EngineError(f"{item.id}: s2s needs spoken candidates; this build spoke only the context (build with --speak all)")
        return [item.context_audio, *item.candidate_audio]

    def encode_item(self, item: ScoreItem) -> tuple[Any, list[Any]]:
        """(context codes, each candidate's codes), every clip encoded on its own."""
        context, *candidates = [self.encode_clip(path) for path in self.clips(item)]
        if any(codes.shape[1] == 0 for codes in candidates):
            raise EngineError(f"{item.id}: a candidate clip is shorter than one Mimi frame; there is nothing to score")
        steps = context.shape[1] + max(codes.shape[1] for codes in candidates) + 2
        if steps > self.max_steps:
            warnings.warn(f"{item.id}: {steps} Moshi steps; the model was trained on {self.max_steps}", stacklevel=3)
        return context, candidates

    def streams(self, codes) -> Streams:
        """The three streams over the steps of ``codes`` (codebooks x frames)."""
        import torch

        steps = codes.shape[1] + 2
        text = torch.full((steps,), self.text_pad, dtype=torch.long, device=self.device)
        text[0] = self.text_start
        user = delayed(self.silence.view(-1, 1).expand(-1, codes.shape[1]), self.audio_pad)
        user[0, -1] = self.silence[0]  # silence goes on past the story's last frame
        return Streams(text, delayed(codes, self.audio_pad), user)

    def embed(self, streams: Streams):
        """The temporal transformer's input (steps x hidden): the sum of every stream's embeddings."""
        embeddings = self.temporal.embed_tokens(streams.text)
        for codebook in range(self.count):
            embeddings = embeddings + self.model.embed_tokens[codebook](streams.moshi[codebook])
            embeddings = embeddings + self.model.embed_tokens[self.count + codebook](streams.user[codebook])
        return embeddings

    def depth_log_probs(self, hidden, streams: Streams, width: int):
        """Log-likelihoods (steps x width) of codebooks ``0..width-1`` of Moshi's speech at some
        steps, in one depth decoder call: ``hidden`` (steps x hidden) is the temporal transformer's
        output at the step before each; at each step the depth decoder reads the text token and the
        codebooks before the one it predicts."""
        import torch

        ids = torch.cat([streams.text.view(-1, 1), streams.moshi[: width - 1].T], dim=1)
        out = self.model.depth_decoder(input_ids=ids, last_hidden_state=hidden.unsqueeze(1), attention_mask=torch.ones_like(ids), use_cache=False)
        # The padding code (audio_vocab_size) has no logit; where it stands nothing is scored.
        targets = streams.moshi[:width].T.clamp(max=self.audio_pad - 1)
        return torch.log_softmax(out.logits.float(), dim=-1).gather(2, targets.unsqueeze(2)).squeeze(2)

    @property
    def width(self) -> int:
        """The depth decoder positions scoring needs: codebook 0 alone needs only the first."""
        return self.count if self.codebooks == "all" else 1

    # Scoring -----------------------------------------------------------------------------------

    def score_items(self, items: list[ScoreItem], mode: str, prompt: Prompt) -> list[list[CandidateScore]]:
        import torch

        self.check_mode(mode)
        with torch.inference_mode():
            if mode == "t2t":
                return self._score_text(items, prompt)
            return self._score_speech([self.encode_item(item) for item in items])

    def _score_text(self, items: list[ScoreItem], prompt: Prompt) -> list[list[CandidateScore]]:
        import torch

        encoded = [self.encode_text(item, prompt) for item in items]
        ids, mask = right_pad([context for context, _ in encoded], self.pad_id, self.device)
        positions = torch.arange(ids.shape[1], device=self.device).expand_as(ids)
        out = self.temporal(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True)
        return score_after_prefixes(self.temporal, self.text_head, out, mask, [c for _, c in encoded], self.pad_id)

    def encode_text(self, item: ScoreItem, prompt: Prompt) -> tuple[list[int], list[list[int]]]:
        context = self.start.before(self.tokenizer(prompt.text_prefix + item.context, add_special_tokens=False)["input_ids"])
        candidates = [self.tokenizer(prompt.separator + text, add_special_tokens=False)["input_ids"] for text in item.candidates]
        if any(not ids for ids in candidates):
            raise EngineError(f"{item.id}: a candidate tokenizes to nothing")
        return context, candidates

    def _score_speech(self, encoded: list[tuple[Any, list[Any]]]) -> list[list[CandidateScore]]:
        """Every item's context steps in one forward with the cache, each context's cache row
        repeated for its candidates, every candidate's steps in one forward, then every scored step
        through the depth decoder in one call."""
        import torch

        joined = [[torch.cat([context, candidate], dim=1) for candidate in candidates] for context, candidates in encoded]
        lines = [[self.streams(codes) for codes in item] for item in joined]
        prefixes = [item[0].steps(0, context.shape[1] + 1) for item, (context, _) in zip(lines, encoded)]  # steps 0..C
        prefix_embeds, prefix_mask = _right_pad_rows([self.embed(p) for p in prefixes])
        positions = torch.arange(prefix_embeds.shape[1], device=self.device).expand(prefix_embeds.shape[0], -1)
        prefix = self.temporal(inputs_embeds=prefix_embeds, attention_mask=prefix_mask, position_ids=positions, use_cache=True)
        lengths = prefix_mask.sum(dim=1)
        last = prefix.last_hidden_state[torch.arange(len(encoded), device=self.device), lengths - 1]  # step C: predicts step C + 1
        rows = torch.repeat_interleave(torch.arange(len(encoded), device=self.device), torch.tensor([len(c) for _, c in encoded], device=self.device))
        prefix.cache.batch_select_indices(rows)
        steps = [(line, context.shape[1]) for item, (context, _) in zip(lines, encoded) for line in item]
        continuation_embeds, continuation_mask = _right_pad_rows([self.embed(line.steps(start + 1, -1)) for line, start in steps])  # C+1..F
        attention = torch.cat([prefix_mask[rows], continuation_mask], dim=1)
        continuation_positions = lengths[rows].unsqueeze(1) + torch.arange(continuation_embeds.shape[1], device=self.device)
        hidden = self.temporal(inputs_embeds=continuation_embeds, attention_mask=attention, position_ids=continuation_positions,
                                   cache=prefix.cache, use_cache=True).last_hidden_state
        scores = []
        for row, (line, start) in enumerate(steps):
            frames = line.text.shape[0] - 2
            before = torch.cat([last[rows[row]].unsqueeze(0), hidden[row, : frames - start]])  # the outputs at steps C..F
            mask = scored_mask(self.count, start, frames, self.codebooks == "all")
            scores.append((line.steps(start + 1, frames + 2), before, mask))
        return _group(self._depth(scores), [len(c) for _, c in encoded])

    def _depth(self, scored: list[tuple[Streams, Any, Any]]) -> list[CandidateScore]:
        """Each candidate's score from (its scored steps, the outputs before them, which codes count),
        every candidate's steps in one depth decoder call."""
        import torch

        streams = Streams(torch.cat([s.text for s, _, _ in scored]), torch.cat([s.moshi for s, _, _ in scored], dim=1),
                          torch.cat([s.user for s, _, _ in scored], dim=1))
        log_probs = self.depth_log_probs(torch.cat([h for _, h, _ in scored]), streams, self.width)
        results, offset = [], 0
        for _, _, mask in scored:
            mask = mask[:, : self.width].to(log_probs.device)
            total = (log_probs[offset : offset + mask.shape[0]] * mask).sum()
            offset += mask.shape[0]
            count = int(mask.sum())
            results.append(CandidateScore(loss=float(-total / count), n_tokens=count, logprob=float(total)))
        return results

    # Reference ---------------------------------------------------------------------------------

    def naive_score(self, item: ScoreItem, mode: str, prompt: Prompt, features_per_candidate: bool = True) -> list[CandidateScore]:
        """Per candidate, one full forward of batch 1: in t2t of the text model over context and
        candidate; in s2s of the whole model (its own embedding of the three streams) over every
        step, its clips encoded again (``features_per_candidate=False``: once per item), then the
        depth decoder one step at a time."""
        import torch

        self.check_mode(mode)
        scores = []
        with torch.inference_mode():
            if mode == "t2t":
                context, continuations = self.encode_text(item, prompt)
                for continuation in continuations:
                    ids = torch.tensor([context + continuation], device=self.device)
                    logits = self.model.decoder(input_ids=ids).logits[0, len(context) - 1 : -1].float()
                    nll = -torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(continuation, device=self.device).unsqueeze(1)).sum()
                    scores.append(CandidateScore(loss=float(nll / len(continuation)), n_tokens=len(continuation), logprob=-float(nll)))
                return scores
            encoded = self.encode_item(item)
            for index in range(len(encoded[1])):
                if features_per_candidate and index:
                    encoded = self.encode_item(item)
                context, candidates = encoded
                line = self.streams(torch.cat([context, candidates[index]], dim=1))
                frames = line.text.shape[0] - 2
                inputs = line.steps(0, frames + 1)  # steps 0..F: their outputs predict steps 1..F+1
                out = self.model(input_ids=inputs.text.unsqueeze(0), moshi_audio_codes=inputs.moshi.unsqueeze(0),
                                 user_audio_codes=inputs.user.unsqueeze(0), use_cache=False)
                start = context.shape[1]
                mask = scored_mask(self.count, start, frames, self.codebooks == "all")
                total = 0.0
                for step in range(start + 1, frames + 2):  # one depth decoder call per step
                    log_probs = self.depth_log_probs(out.last_hidden_state[0, step - 1 : step], line.steps(step, step + 1), self.width)
                    total = total + (log_probs * mask[step - start - 1 : step - start, : self.width]).sum()
                count = int(mask.sum())
                scores.append(CandidateScore(loss=float(-total / count), n_tokens=count, logprob=float(total)))
        return scores


def _right_pad_rows(rows: list[Any]) -> tuple[Any, Any]:
    """(batch x steps x hidden, mask): embeddings of several time lines right-padded with zeros."""
    import torch

    width = max(row.shape[0] for row in rows)
    embeds = rows[0].new_zeros((len(rows), width, rows[0].shape[1]))
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=rows[0].device)
    for index, row in enumerate(rows):
        embeds[index, : row.shape[0]] = row
        mask[index, : row.shape[0]] = 1
    return embeds, mask


def _group(scores: list[CandidateScore], counts: list[int]) -> list[list[CandidateScore]]:
    groups, offset = [], 0
    for count in counts:
        groups.append(scores[offset : offset + count])
        offset += count
    return groups


def _load(model: str, device: str, dtype) -> tuple[Any, Any]:
    network_class = speech_lm_class("MoshiForConditionalGeneration", "Moshi")
    from transformers import AutoTokenizer

    source = model_source(model)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        network = network_class.from_pretrained(source, dtype=dtype).to(device).eval()
    except Exception as exc:
        raise loading_error("Moshi", model, exc) from exc
    return network, tokenizer


register_adapter("moshi", model_types=("moshi",))(Moshi)
