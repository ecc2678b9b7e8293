"""Which TTS voice belongs to which split: every (engine, voice) to exactly one.

The held-out split is made of voices the train split never uses, and of whole
engines where the language has enough voices without them: flite, festival and
the Piper neural voice for English, SVOX pico's es-ES and festival's Spanish voice
for Spanish. Portuguese has only espeak-ng and mbrola voices, so it holds out
voices: espeak-ng's European Portuguese and three of the six mbrola voices.
espeak-ng's voice variants (``+m3``, ``+f2``, ...) are split too.

festival's mbrola voices (festvox-us1/us2/us3/en1) are not used: they are the same
diphone databases as mbrola us1/us2/us3/en1, which would put one voice in both splits.

The shared dev generator left mbrola es1, es2 and mx1 out (stressed vowels missing
with espeak-ng 1.51); on 2026-12-07 their longest pause inside a sentence measured
like the other Spanish voices' (110-380 ms), so they are used.
"""

from __future__ import annotations

from typing import NamedTuple


class Voice(NamedTuple):
    engine: str
    voice: str
    lang: str
    split: str


def _voices(split: str, lang: str, engine: str, names: str) -> list[Voice]:
    return [Voice(engine, name, lang, split) for name in names.split()]


VOICES: list[Voice] = [
    *_voices("train", "en", "espeak", "en-us en-gb en-gb-x-gbclan"),
    *_voices("train", "en", "mbrola", "mb-us1 mb-us2 mb-en1"),
    *_voices("train", "en", "pico", "en-US en-GB"),
    *_voices("train", "pt", "espeak", "pt-br"),
    *_voices("train", "pt", "mbrola", "mb-br1 mb-br2 mb-br3"),
    *_voices("train", "es", "espeak", "es"),
    *_voices("train", "es", "mbrola", "mb-es1 mb-es3 mb-mx2"),
    *_voices(
        "heldout", "en", "espeak", "en-gb-scotland en-029 en-us-nyc en-gb-x-rp en-gb-x-gbcwmd"
    ),
    *_voices("heldout", "en", "mbrola", "mb-us3"),
    *_voices("heldout", "en", "flite", "kal awb rms slt"),
    *_voices("heldout", "en", "festival", "kal_diphone ked_diphone don_diphone rab_diphone"),
    *_voices("heldout", "en", "festival", "cmu_us_slt_arctic_hts"),
    *_voices("heldout", "en", "piper", "joe_us"),
    *_voices("heldout", "pt", "espeak", "pt"),
    *_voices("heldout", "pt", "mbrola", "mb-br4 mb-pt1"),
    *_voices("heldout", "es", "espeak", "es-419"),
    *_voices("heldout", "es", "mbrola", "mb-es2 mb-es4 mb-mx1 mb-vz1"),
    *_voices("heldout", "es", "pico", "es-ES"),
    *_voices("heldout", "es", "festival", "el_diphone"),
]

ESPEAK_VARIANTS = {
    "train": "m1 m2 m3 m4 m5 f1 f2 f3 klatt klatt2 Andy Annie belinda david edward john linda max",
    "heldout": "m6 m7 f4 f5 klatt3 klatt4 grandma michel paul robert steph travis zac",
}

SPLITS = ("train", "heldout")


def voices_of(split: str, lang: str) -> list[Voice]:
    return [v for v in VOICES if v.split == split and v.lang == lang]


def variants_of(split: str) -> list[str]:
    return ESPEAK_VARIANTS[split].split()
