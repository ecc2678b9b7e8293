"""Asterisk app_amd's published algorithm, re-implemented as the bench's baseline.

Follows ``apps/app_amd.c``: 20 ms frames; a frame is silence when its mean
absolute sample value is below ``silenceThreshold`` (``ast_dsp_silence``);
runs of voice of ``minimumWordLength`` after ``betweenWordsSilence`` of
silence are words. Verdicts, in the order app_amd checks them:

* total time >= totalAnalysisTime                     -> NOTSURE (TOOLONG)
* silence >= initialSilence before any word           -> MACHINE (INITIALSILENCE)
* silence >= afterGreetingSilence after a greeting    -> HUMAN
* one word longer than maximumWordLength              -> MACHINE (MAXWORDLENGTH)
* words >= maximumNumberOfWords                       -> MACHINE (MAXWORDS)
* voice in the greeting >= greeting                   -> MACHINE (LONGGREETING)

Defaults are app_amd's (``maximumNumberOfWords`` is 2 since Asterisk 1.8's
amd.conf sample; older versions shipped 3). It has no SILENCE, FAX or beep
verdict. An audio file that ends first is NOTSURE (app_amd would say HANGUP).
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULTS: dict[str, int] = {
    "initialSilence": 2500,
    "greeting": 1500,
    "afterGreetingSilence": 800,
    "totalAnalysisTime": 5000,
    "minimumWordLength": 100,
    "betweenWordsSilence": 50,
    "maximumNumberOfWords": 2,
    "silenceThreshold": 256,
    "maximumWordLength": 5000,
}
FRAME_MS = 20


def detect(samples: Any, rate: int = 8000, **overrides: int) -> tuple[str, float, str]:
    """``(label, decision_ms, reason)`` for a whole 8 kHz signal."""
    p = {**DEFAULTS, **overrides}
    x = np.asarray(samples, dtype=np.float64)
    n = rate * FRAME_MS // 1000
    frames = len(x) // n
    mean_abs = np.abs(x[: frames * n]).reshape(frames, n).mean(axis=1).tolist()

    total = 0
    silence = 0  # ms of silence so far in the current run (ast_dsp_silence's totalsilence)
    voice_total = 0
    consecutive_voice = 0
    words = 0
    in_word = True  # app_amd starts in STATE_IN_WORD
    in_initial_silence = True
    in_greeting = False
    for level in mean_abs:
        total += FRAME_MS
        if total >= p["totalAnalysisTime"]:
            return "NOTSURE", float(total), f"TOOLONG-{total}"
        if level < p["silenceThreshold"]:
            silence += FRAME_MS
            consecutive_voice = 0
            if silence >= p["betweenWordsSilence"]:
                in_word = False
            if in_initial_silence and silence >= p["initialSilence"]:
                return "MACHINE", float(total), f"INITIALSILENCE-{silence}-{p['initialSilence']}"
            if in_greeting and silence >= p["afterGreetingSilence"]:
                return "HUMAN", float(total), f"HUMAN-{silence}-{p['afterGreetingSilence']}"
        else:
            silence = 0
            consecutive_voice += FRAME_MS
            voice_total += FRAME_MS
            if consecutive_voice >= p["minimumWordLength"] and not in_word:
                words += 1
                in_word = True
            if consecutive_voice >= p["maximumWordLength"]:
                return "MACHINE", float(total), f"MAXWORDLENGTH-{consecutive_voice}"
            if words >= p["maximumNumberOfWords"]:
                return "MACHINE", float(total), f"MAXWORDS-{words}-{p['maximumNumberOfWords']}"
            if in_greeting and voice_total >= p["greeting"]:
                return "MACHINE", float(total), f"LONGGREETING-{voice_total}-{p['greeting']}"
            if voice_total >= p["minimumWordLength"]:
                in_initial_silence = False
                in_greeting = True
    return "NOTSURE", float(total), "audio ended"
