"""One labelled clip of the AMD corpus: what is said or played, then the line and the codec.

Labels and timings mean what they mean in the shared dev generator
(``../shared/amd-corpus``, whose clip builder this continues): HUMAN (a live
callee), MACHINE (voicemail, carrier announcement), SILENCE, FAX. Times are in
seconds from the first sample of the clip.

Each clip draws from its own ``numpy`` generator seeded by (seed, split, index),
so a corpus does not depend on how many processes make it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from amd_corpus import signals as sg
from amd_corpus.phrases import BANKS, Bank
from amd_corpus.tts import speech
from amd_corpus.voices import SPLITS, Voice, variants_of, voices_of

SPEECH_REF_DBFS = -16.0  # active-speech RMS before the clip's random gain
LANG_P = {"en": 0.5, "pt": 0.25, "es": 0.25}
FAST_ENGINES = ("espeak", "mbrola", "pico", "flite")  # babble: many short syntheses
SIT = ((913.8, 0.274), (1370.6, 0.274), (1776.7, 0.380))
# What a live callee does when nobody answers their greeting (see docs/amd.md, "Corpus"):
# silence of about 1 s is the conversational "standard maximum" after which the speaker
# treats it as trouble, and on the phone the answerer re-issues the summons ("Hello?").
AGAIN_P = 0.8  # speaks again ...
AGAIN_GAP_S = (0.7, 1.2, 2.5)  # ... after this much silence (triangular: low, mode, high)
SILENT_AFTER_S = (3.0, 5.0)  # the others stay silent this long, at least (then the clip ends)
# A recorder stays silent for minutes after its greeting (or records after its beep):
# the clip goes on with line noise at least this long after the greeting.
MACHINE_AFTER_S = 6.0
MACHINE_KINDS = {  # share of MACHINE clips; beep probability
    "personal": (0.30, 0.8),
    "business": (0.23, 0.75),
    "hi_pause": (0.12, 0.7),
    "carrier_beep": (0.15, 1.0),
    "carrier_nobeep": (0.20, 0.0),
}


@dataclass
class Split:
    name: str
    seed: int
    cache: Path
    engines: tuple[str, ...] = ()  # only these engines (a quick corpus); empty: all of the split's
    bank: Bank = field(init=False)

    def __post_init__(self) -> None:
        self.bank = BANKS[self.name]
        self.code = SPLITS.index(self.name)

    def rng(self, idx: int, stream: int = 0) -> np.random.Generator:
        """Clip ``idx``'s generator; ``stream`` 1 draws what happens after the first
        utterance or greeting (added in 2.1 without moving the draws of 2.0)."""
        if stream:
            return np.random.default_rng([self.seed, self.code, idx, stream])
        return np.random.default_rng([self.seed, self.code, idx])


def pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


@dataclass
class Speaker:
    voice: Voice
    params: dict[str, Any]

    @property
    def name(self) -> str:
        return self.voice.voice + (
            f"+{self.params['variant']}" if self.params.get("variant") else ""
        )


def choose_speaker(
    split: Split, lang: str, rng: np.random.Generator, engines: tuple[str, ...] = ()
) -> Speaker:
    """An engine first (each of the language's engines equally), then one of its voices."""
    pool = [
        v
        for v in voices_of(split.name, lang)
        if (not engines or v.engine in engines) and (not split.engines or v.engine in split.engines)
    ]
    if not pool:  # babble's fast engines are not among --engines: any of the split's
        pool = [v for v in voices_of(split.name, lang) if v.engine in split.engines]
    engine = pick(rng, sorted({v.engine for v in pool}))
    voice = pick(rng, [v for v in pool if v.engine == engine])
    params: dict[str, Any] = {}
    if engine == "espeak":
        variant = pick(rng, variants_of(split.name)) if rng.random() < 0.8 else ""
        params = {
            "variant": variant,
            "wpm": int(rng.integers(135, 200)),
            "pitch": int(rng.integers(25, 76)),
        }
    elif engine == "mbrola":
        params = {"wpm": int(rng.integers(135, 190)), "pitch": int(rng.integers(30, 71))}
    elif engine in ("festival", "flite", "piper"):
        params = {"stretch": round(float(rng.uniform(0.85, 1.2)), 2)}
    return Speaker(voice, params)


def say(split: Split, who: Speaker, text: str, speed: float) -> np.ndarray:
    """Speech at unit active RMS; ``speed`` resamples it like a tape (pitch moves with it)."""
    x = speech(who.voice.engine, who.voice.voice, text, who.params, split.cache).astype(np.float64)
    if abs(speed - 1.0) > 1e-3:
        x = signal.resample_poly(x, 200, round(200 * speed))
    return x / sg.active_rms(x)


def babble(split: Split, n: int, rng: np.random.Generator) -> np.ndarray:
    """3-6 overlapping talkers from the split's own voices and phrases."""
    out = np.zeros(n)
    for _ in range(int(rng.integers(3, 7))):
        lang = pick(rng, ["en", "en", "pt", "es"])
        who = choose_speaker(split, lang, rng, FAST_ENGINES)
        text = " ".join(pick(rng, split.bank[lang]["middle"]) for _ in range(2))
        y = say(split, who, text, 1.0)
        y = np.tile(y, int(n / len(y)) + 2)
        off = int(rng.integers(len(y) - n))
        out += y[off : off + n] * sg.db2lin(rng.uniform(-6, 0))
    return sg.unit_rms(out)


def noise(split: Split, kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "white":
        return rng.standard_normal(n)
    if kind in ("pink", "pink_swing"):
        y = sg.coloured_noise(n, rng, 1.0)
    elif kind in ("brown", "brown_swing"):
        y = sg.coloured_noise(n, rng, 2.0)
    elif kind in ("babble", "babble_swing"):
        y = babble(split, n, rng)
    else:
        raise ValueError(kind)
    return sg.swinging(y, rng) if kind.endswith("_swing") else y


NOISES = {  # the held-out split adds brown noise and noise whose level swings
    "train": (["white", "pink", "babble"], [0.3, 0.4, 0.3]),
    "heldout": (
        ["white", "pink", "brown", "babble", "pink_swing", "babble_swing"],
        [0.2, 0.2, 0.2, 0.2, 0.1, 0.1],
    ),
}


class Clip:
    """Sounds placed on a timeline (in units of the speech reference level) and the labels."""

    def __init__(self, label: str, split: str) -> None:
        self.parts: list[tuple[np.ndarray, float]] = []
        self.meta: dict[str, Any] = {"label": label, "split": split, "n_utterances": 0}
        self.total = 0.0

    def place(self, x: np.ndarray, start: float) -> float:
        self.parts.append((x, start))
        return start + len(x) / sg.SR

    def mix(self) -> np.ndarray:
        y = np.zeros(round(self.total * sg.SR))
        for x, start in self.parts:
            s = round(start * sg.SR)
            e = min(len(y), s + len(x))
            if e > s:
                y[s:e] += x[: e - s]
        return y


def human(
    split: Split,
    clip: Clip,
    who: Speaker,
    speed: float,
    rng: np.random.Generator,
    then: np.random.Generator,
) -> None:
    bank = split.bank[clip.meta["lang"]]
    r = rng.random()
    scenario = "human_long" if r < 0.25 else "human_repeat" if r < 0.45 else "human_short"
    text = pick(rng, bank["human_long" if scenario == "human_long" else "human_short"])
    x = say(split, who, text, speed)
    onset = float(rng.uniform(0.2, 2.5))
    # a long greeting must end by 7.5 s; a short one by 6 s (as in the dev generator)
    onset = min(onset, max(0.2, (7.5 if scenario == "human_long" else 6.0) - len(x) / sg.SR))
    end1 = clip.place(x, onset)
    texts = [text]
    if scenario == "human_repeat":
        # nobody answered their "Hello?": a person says something again 1-2 s later
        again = text if rng.random() < 0.6 else pick(rng, bank["human_short"])
        x2 = say(split, who, again, speed)
        clip.place(x2, end1 + float(rng.uniform(1.0, 2.0)))
        texts.append(again)
    elif then.random() < AGAIN_P:
        # nobody answered: the callee re-issues the greeting ("Hello?") after ~1 s
        gap = float(then.triangular(*AGAIN_GAP_S))
        again = pick(then, bank["human_short"])
        clip.place(say(split, who, again, speed), end1 + gap)
        texts.append(again)
        clip.meta["again_s"] = round(gap, 3)
    speech_end = clip.parts[-1][1] + len(clip.parts[-1][0]) / sg.SR
    silent = float(then.uniform(*SILENT_AFTER_S))
    clip.total = max(speech_end + silent, min(8.0, speech_end + float(rng.uniform(2.0, 5.0))))
    clip.meta.update(
        scenario=scenario,
        text=" | ".join(texts),
        speech_onset_s=onset,
        greeting_end_s=end1,
        speech_end_s=speech_end,
        n_utterances=len(texts),
    )


def compose_greeting(bank: dict[str, list[str]], kind: str, rng: np.random.Generator) -> str:
    if kind.startswith("carrier"):
        return str(pick(rng, bank[kind]))
    opener = pick(rng, bank["personal_open" if kind == "personal" else "business_open"])
    k = int(rng.integers(0, (2 if kind == "personal" else 3) + 1))
    middles = [bank["middle"][i] for i in rng.permutation(len(bank["middle"]))[:k]]
    return " ".join([opener, *middles, pick(rng, bank["closer"])])


def greeting_audio(
    split: Split, clip: Clip, who: Speaker, kind: str, speed: float, rng: np.random.Generator
) -> tuple[np.ndarray, str]:
    bank = split.bank[clip.meta["lang"]]
    if kind == "hi_pause":  # "Hi, ... you've reached Maria, leave a message"
        hi, rest = pick(rng, bank["hi_opener"]), pick(rng, bank["hi_rest"])
        pause = np.zeros(int(rng.uniform(0.4, 0.9) * sg.SR))
        return np.concatenate(
            [say(split, who, hi, speed), pause, say(split, who, rest, speed)]
        ), f"{hi} | {rest}"
    text = compose_greeting(bank, kind, rng)
    x = say(split, who, text, speed)
    for _ in range(4):  # keep the greeting within 2-15 s
        if len(x) / sg.SR > 15.0:
            sentences = text.split(". ")
            if len(sentences) <= 2:
                break
            text = ". ".join(sentences[:1] + sentences[2:])
        elif len(x) / sg.SR < 2.0:
            text = text + " " + pick(rng, bank["middle"])
        else:
            break
        x = say(split, who, text, speed)
    return x, text


def beep(rng: np.random.Generator) -> tuple[np.ndarray, float, str]:
    f = float(rng.uniform(400, 2000))
    d = float(rng.uniform(0.2, 1.2))
    level = sg.db2lin(rng.uniform(-6, 6))
    style = rng.random()
    if style < 0.7:
        return sg.tone(f, d, rng) * level, f, "sine"
    if style < 0.85:
        return sg.tone(f, d, rng, harmonics=[(2, 0.3), (3, 0.2)]) * level, f, "harm"
    d1 = max(0.1, d / 2 - 0.05)
    gap = np.zeros(int(0.1 * sg.SR))
    return np.concatenate([sg.tone(f, d1, rng), gap, sg.tone(f, d1, rng)]) * level, f, "double"


def machine(split: Split, clip: Clip, who: Speaker, speed: float, rng: np.random.Generator) -> None:
    kinds = list(MACHINE_KINDS)
    kind = str(rng.choice(kinds, p=[MACHINE_KINDS[k][0] for k in kinds]))
    x, text = greeting_audio(split, clip, who, kind, speed, rng)
    onset = float(rng.uniform(0.1, 1.5))
    tags = [kind]
    if kind.startswith("carrier") and rng.random() < 0.4:  # SIT tones before the announcement
        clip.meta["tone_start_s"] = onset
        for f, d in SIT:
            onset = clip.place(sg.tone(f, d, rng) * sg.db2lin(rng.uniform(-6, 0)), onset)
        onset += float(rng.uniform(0.1, 0.5))
        tags.append("SIT")
    music = ""
    if rng.random() < 0.18:
        music = "intro" if rng.random() < 0.65 else "bed"
    if music == "intro":  # music on hold, then the greeting
        d = float(rng.uniform(1.0, 3.0))
        onset = clip.place(sg.music(d, rng) * sg.db2lin(rng.uniform(-10, -3)), onset)
        onset += float(rng.uniform(0.0, 0.3))
    g_end = clip.place(x, onset)
    if music == "bed":
        clip.place(sg.music(g_end - onset + 0.3, rng) * sg.db2lin(rng.uniform(-16, -8)), onset)
    t = g_end + float(rng.uniform(0.1, 1.0))
    if rng.random() < MACHINE_KINDS[kind][1]:
        bx, f, style = beep(rng)
        clip.meta.update(beep_start_s=t, beep_end_s=t + len(bx) / sg.SR, beep_freq_hz=round(f, 1))
        t = clip.place(bx, t)
        tags.append(f"beep_{style}")
    else:
        tags.append("nobeep")
    if music:
        tags.append(f"music_{music}")
    clip.total = max(t + 1.0, g_end + MACHINE_AFTER_S)
    clip.meta.update(
        scenario="+".join(tags),
        text=text,
        speech_onset_s=onset,
        greeting_end_s=g_end,
        speech_end_s=g_end,
        n_utterances=1,
        music=music,
    )


def fax(clip: Clip, rng: np.random.Generator) -> None:
    clip.total = float(rng.uniform(6.0, 8.0))
    level = sg.db2lin(rng.uniform(-4, 8))
    if rng.random() < 0.5:  # CNG: 1100 Hz, 0.5 s on / 3 s off, first burst anywhere in the cycle
        t0 = t = float(rng.uniform(0.0, 3.0))
        while t < clip.total:
            clip.place(sg.tone(1100, 0.5, rng) * level, t)
            t += 3.5
        clip.meta.update(scenario="fax_cng", tone_start_s=t0)
        return
    # CED: 2100 Hz for 2.6-4 s (30 % with ANSam's phase reversals), 75 ms, V.21 flags
    t0 = float(rng.uniform(0.2, 2.0))
    d = float(rng.uniform(2.6, 4.0))
    ced = sg.tone(2100, d, rng)
    reversals = rng.random() < 0.3
    if reversals:
        ced = ced * np.where((np.arange(len(ced)) // int(0.45 * sg.SR)) % 2 == 0, 1.0, -1.0)
    clip.place(ced * level, t0)
    t1 = t0 + d + 0.075
    if t1 < clip.total:
        clip.place(sg.fsk_v21_flags(clip.total - t1) * level * sg.db2lin(-3), t1)
    clip.meta.update(scenario="fax_ced" + ("_rev" if reversals else "") + "+v21", tone_start_s=t0)


TIME_FIELDS = (
    "speech_onset_s",
    "greeting_end_s",
    "speech_end_s",
    "beep_start_s",
    "beep_end_s",
    "tone_start_s",
)


def early_media(clip: Clip, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The greeting was already playing at answer: the clip starts inside its speech."""
    m = clip.meta
    cut = float(
        rng.uniform(0.05, min(1.5, max(0.1, m["greeting_end_s"] - m["speech_onset_s"] - 0.3)))
    )
    start = m["speech_onset_s"] + cut
    for key in TIME_FIELDS:
        if key in m:
            m[key] = m[key] - start
    if m.get("tone_start_s", 0) < 0:  # the SIT was before the speech: gone
        del m["tone_start_s"]
    if m.get("music") == "intro":  # played before the speech: gone too
        m["music"] = ""
        m["scenario"] = m["scenario"].replace("+music_intro", "")
    m["speech_onset_s"] = 0.0
    m["early_media_s"] = round(cut, 3)
    m["scenario"] += "+early_media"
    clip.total -= start
    return y[round(start * sg.SR) :]


def line_and_codec(split: Split, clip: Clip, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noise, telephone band, gain, then the network: level step, jitter, G.711, packet loss."""
    m = clip.meta
    n = len(y)
    ref = sg.db2lin(SPEECH_REF_DBFS) * 32768.0
    y = y * ref
    if m["label"] == "SILENCE":
        r = rng.random()
        if r < 0.6:
            kind, level = "line", float(rng.uniform(-75, -50))
        elif r < 0.85:
            kind, level = str(rng.choice(["white", "pink"])), float(rng.uniform(-50, -38))
        else:
            kind, level = "babble", float(rng.uniform(-50, -36))
        hiss = rng.standard_normal(n) if kind == "line" else noise(split, kind, n, rng)
        y += hiss * sg.db2lin(level) * 32768.0
        m.update(noise_type=kind, snr_bin="noise_only")
    else:
        if rng.random() < 0.75:
            kinds, p = NOISES[split.name]
            kind = str(rng.choice(kinds, p=p))
            snr = float(rng.uniform(5, 30))
            y += noise(split, kind, n, rng) * ref / sg.db2lin(snr)
            m.update(noise_type=kind, snr_db=round(snr, 1))
            m["snr_bin"] = "snr05-10" if snr < 10 else "snr10-20" if snr < 20 else "snr20-30"
        else:
            m.update(noise_type="line", snr_bin="clean")
        y += rng.standard_normal(n) * sg.db2lin(float(rng.uniform(-78, -62))) * 32768.0
    y = signal.sosfilt(sg.TELEPHONE_BAND, y)
    gain = float(rng.uniform(-20, 0))
    y *= sg.db2lin(gain)
    m["gain_db"] = round(gain, 1)
    if rng.random() < 0.2:
        at, step = sg.level_step(y, rng)
        m.update(level_step_s=round(at, 3), level_step_db=round(step, 1))
    r = rng.random()
    if r < 0.12:
        y, shift = sg.time_warp(y, rng)
        m["jitter"] = f"warp({1000 * shift:.0f}ms)"
    elif r < 0.25:
        m["jitter"] = f"repeat({sg.repeat_frames(y, rng)})"
    codec = "alaw" if rng.random() < 0.4 else "ulaw"
    m["codec"] = codec
    y16 = sg.g711_roundtrip(np.clip(np.round(y), -32768, 32767).astype(np.int16), codec).astype(
        np.float64
    )
    m["loss_pct"] = 0.0
    if rng.random() < 0.4:
        conceal = rng.random() < 0.5
        m["loss_pct"] = round(
            100 * sg.lose_packets(y16, rng, float(rng.uniform(0.01, 0.06)), conceal), 2
        )
        m["plc"] = "repeat" if conceal else "none"
    return np.clip(np.round(y16), -32768, 32767).astype(np.int16)


def build_clip(split: Split, idx: int, label: str) -> tuple[np.ndarray, dict[str, Any]]:
    rng = split.rng(idx)
    clip = Clip(label, split.name)
    speed = float(rng.uniform(0.93, 1.07)) if rng.random() < 0.7 else 1.0
    if label in ("HUMAN", "MACHINE"):
        lang = str(rng.choice(list(LANG_P), p=list(LANG_P.values())))
        who = choose_speaker(split, lang, rng)
        clip.meta.update(lang=lang, engine=who.voice.engine, voice=who.name, speed=round(speed, 3))
        if label == "HUMAN":
            human(split, clip, who, speed, rng, split.rng(idx, 1))
        else:
            machine(split, clip, who, speed, rng)
    elif label == "SILENCE":
        clip.total = float(rng.uniform(5.0, 8.0))
        clip.meta["scenario"] = "silence"
    elif label == "FAX":
        fax(clip, rng)
    else:
        raise ValueError(label)
    y = clip.mix()
    if label == "MACHINE" and rng.random() < 0.15:
        y = early_media(clip, y, rng)
    out = line_and_codec(split, clip, y, rng)
    clip.meta["duration_s"] = round(len(out) / sg.SR, 3)
    for key in TIME_FIELDS:
        if key in clip.meta:
            clip.meta[key] = round(clip.meta[key], 3)
    return out, clip.meta
