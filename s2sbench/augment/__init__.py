"""``s2s augment BUILD -o OUT``: robustness variants of a build, made from its clips.

How much worse does a speech LM do when the same questions are heard through noise, or spoken
faster or slower? A variant answers that without synthesizing anything again: every clip of the
parent build goes through one transform of a kept augmentation library (audiomentations, MIT) and
the result is an ordinary build directory under ``OUT``, named by its transform:

- ``snr20``, ``snr0``, ``snr-5``: white noise at that signal-to-noise ratio, in dB
  (``AddGaussianSNR``); ``snr10-pink`` pink noise (``AddColorNoise``, -3.01 dB per octave);
  ``snr10-babble`` babble, several other clips of the same build spoken at once
  (``AddBackgroundNoise`` over a babble track kept in the variant's ``noise/``); ``snr10-noise``
  real noise recordings from ``--noise-dir`` (``AddBackgroundNoise``).
- ``speed0.9``, ``speed1.1``: the tempo scaled by that factor, the pitch kept (``TimeStretch``,
  Signalsmith Stretch).
- ``reverb-small``, ``reverb-medium``, ``reverb-large``: the clip heard in one of :data:`ROOMS`, a
  shoebox of fixed size, reverberation time and talker and microphone placement
  (``RoomSimulator``: pyroomacoustics' image sources and ray tracing). The room's impulse response
  is computed once per variant under a generator seeded by the seed and the room.

A variant has the parent's items (same ids, texts and answers; by default the ones the parent
publishes, all of them with ``include_failed``), its own clips (``audio/``, content-addressed by
the parent clip's bytes, the transform, the seed and the library's version), a ``build.json`` that
copies the parent's and adds ``augment``: the parent, the transform, the seed and the library
version; and its own validation: the recognizer is run on the variant's clips with the existing
machinery (:func:`s2sbench.validate.revalidate.validate_build`), so ``validation.json`` holds the
ASR error at that SNR or speed (``mean_error``). Its verdicts measure the transform: they do not
gate the variant's items (``s2s push`` and ``s2s score`` keep all of them, so every variant of a
parent has the same items).

Each clip's noise is drawn from a generator seeded by the clip's key, so the same seed gives the
same bytes in any order, and a run killed at any point (clips are written atomically) is completed
by the next one with the bytes an uninterrupted run makes. A variant whose ``build.json`` records
the same parent items, transform, seed, library and recognizer, and whose clips are all there, is
left as it is: a re-run writes nothing.
"""

from s2sbench.augment.transforms import NOISES, ROOMS, AugmentOptions, Room, Transform
from s2sbench.augment.variants import VariantResult, augment

__all__ = ["NOISES", "ROOMS", "AugmentOptions", "Room", "Transform", "VariantResult", "augment"]
