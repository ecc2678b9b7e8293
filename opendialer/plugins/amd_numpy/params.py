"""The detector's tunables: names, defaults, ranges, app_amd aliases and presets.

Administrators know Asterisk's app_amd, so where one of our parameters means
the same thing as one of its options, the app_amd name (``initialSilence``,
``greeting``, ...) is accepted as an alias and documented next to ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from opendialer.sdk import AmdParameter, ErrorMessage, InvalidValue, register_error_messages


def N_(message: str) -> str:
    """Mark ``message`` for extraction (``babel.cfg``); the pages translate it."""
    return message


#: The codes of a refused parameter (a campaign's AMD settings show them at the field).
ERRORS = {
    "amd_numpy.not_a_number": ErrorMessage(
        "AMD parameter %(shown)s: %(value)r is not a number", N_("%(name)s: enter a number.")
    ),
    "amd_numpy.out_of_range": ErrorMessage(
        "AMD parameter %(shown)s: %(value)r is out of range [%(low)s, %(high)s] %(unit)s",
        N_("%(name)s: enter a value from %(low)s to %(high)s."),
    ),
    "amd_numpy.not_whole": ErrorMessage(
        "AMD parameter %(shown)s: %(value)r must be a whole number",
        N_("%(name)s: enter a whole number."),
    ),
    "amd_numpy.unknown_parameter": ErrorMessage(
        "unknown AMD parameter %(name)r; valid: %(valid)s",
        N_("%(name)s is not an AMD parameter (the names are in docs/amd.md)."),
    ),
}
register_error_messages(ERRORS)


@dataclass(frozen=True, slots=True)
class Spec:
    default: float
    low: float
    high: float
    unit: str
    help: str
    app_amd: str = ""
    integer: bool = True


SPECS: dict[str, Spec] = {
    "initial_silence_ms": Spec(
        3500,
        500,
        30000,
        "ms",
        "No speech and no tone for this long after answer: SILENCE. Live callees in the "
        "field answer within ~2.5 s, so the default is above app_amd's 2500.",
        "initialSilence",
    ),
    "greeting_ms": Spec(
        4000,
        500,
        30000,
        "ms",
        "A greeting (first speech to last speech, short pauses included) longer than "
        "this is a recorded one: MACHINE. Long live greetings reach ~4 s.",
        "greeting",
    ),
    "after_greeting_silence_ms": Spec(
        550,
        100,
        5000,
        "ms",
        "Silence after a short greeting that releases the call as HUMAN.",
        "afterGreetingSilence",
    ),
    "short_greeting_ms": Spec(
        1200,
        0,
        30000,
        "ms",
        "Greetings up to this long are 'short' (\"Hello?\"). Longer ones need "
        "long_greeting_silence_ms of silence: recorded greetings pause between sentences.",
    ),
    "long_greeting_silence_ms": Spec(
        1000,
        100,
        5000,
        "ms",
        "Silence after a greeting longer than short_greeting_ms that releases it as HUMAN.",
    ),
    "total_analysis_time_ms": Spec(
        10000,
        1000,
        60000,
        "ms",
        "No verdict after this much audio: NOTSURE. app_amd's 5000 is the 'fast' preset's: "
        "greetings that start late (after SIT tones or music) and long live greetings "
        "cannot be told apart before 5 s (see docs/amd.md).",
        "totalAnalysisTime",
    ),
    "minimum_word_length_ms": Spec(
        100,
        10,
        2000,
        "ms",
        "Voiced stretches shorter than this are noise, not words.",
        "minimumWordLength",
    ),
    "between_words_silence_ms": Spec(
        50,
        10,
        2000,
        "ms",
        "A gap shorter than this does not end a word.",
        "betweenWordsSilence",
    ),
    "maximum_number_of_words": Spec(
        0,
        0,
        100,
        "words",
        "This many words in the greeting: MACHINE. 0 = off (default): counting words is "
        "app_amd's main source of live callees hung up on.",
        "maximumNumberOfWords",
    ),
    "maximum_word_length_ms": Spec(
        5000,
        100,
        60000,
        "ms",
        "One word (no gap of between_words_silence_ms) longer than this: MACHINE.",
        "maximumWordLength",
    ),
    "silence_threshold": Spec(
        40,
        0,
        32767,
        "mean |sample|",
        "Absolute floor of the speech threshold (app_amd's unit: mean absolute sample "
        "value of a frame). The working threshold follows the line's noise floor.",
        "silenceThreshold",
    ),
    "speech_margin_db": Spec(
        3.0,
        1.0,
        30.0,
        "dB",
        "How far above the tracked noise floor a frame must be to count as speech.",
        integer=False,
    ),
    "beep_min_ms": Spec(
        90,
        30,
        2000,
        "ms",
        "Shortest single tone that counts as a beep: 100 ms beeps measure 90-110 ms on "
        "10 ms frames. One under 120 ms must have quiet on both sides (a vowel inside a "
        "word can hold a pure harmonic that long). Two tones of 60 ms or more at the "
        "same pitch within 400 ms are a double beep.",
    ),
    "beep_max_ms": Spec(1600, 100, 5000, "ms", "Longest tone that counts as a beep."),
    "beep_min_hz": Spec(
        300,
        100,
        4000,
        "Hz",
        "Lowest beep frequency (fax CNG 1100 Hz and CED 2100 Hz are heard whatever the band).",
    ),
    "beep_max_hz": Spec(
        2600, 100, 4000, "Hz", "Highest beep frequency (fax tones are heard whatever the band)."
    ),
    "tone_purity": Spec(
        0.85,
        0.3,
        1.0,
        "ratio",
        "Mean share of the above-noise power in the tone (and its harmonics) for a beep.",
        integer=False,
    ),
    "fax_detection": Spec(1, 0, 1, "0/1", "Detect fax CNG (1100 Hz) and CED (2100 Hz): FAX."),
    "model": Spec(
        1,
        0,
        1,
        "0/1",
        "Ask the learned model (P(machine) from the greeting's shape) where the timing rules "
        "would decide; 0 = timing rules only.",
    ),
    "model_machine": Spec(
        0.9,
        0.0,
        1.0,
        "probability",
        "When silence follows the greeting: P(machine) at least this is MACHINE at once.",
        integer=False,
    ),
    "model_human": Spec(
        0.2,
        0.0,
        1.0,
        "probability",
        "When silence follows the greeting: P(machine) at most this is HUMAN at once; above "
        "it the detector listens on up to model_wait_ms for a beep or a second utterance, "
        "then model_silent_machine decides.",
        integer=False,
    ),
    "model_threshold": Spec(
        0.99,
        0.0,
        1.0,
        "probability",
        "When the greeting passes greeting_ms: P(machine) at least this is MACHINE; below, "
        "a long live greeting by its shape, heard to its end (up to model_greeting_max_ms).",
        integer=False,
    ),
    "model_wait_ms": Spec(
        1000,
        0,
        5000,
        "ms",
        "How long the detector listens on after a long greeting, beyond the timing rule's "
        "silence, for a beep or a second utterance (even when the model is sure of a machine: "
        'a person gets the chance to say "Hello?" again).',
    ),
    "model_short_wait_ms": Spec(
        300,
        0,
        5000,
        "ms",
        "The same wait after a short greeting (up to short_greeting_ms): an unsure "
        '"Hello?" is listened to 300 ms longer, long enough for most recorded "Hi, ... '
        "you've reached Maria\" to go on; 0: an unsure short greeting is HUMAN at once "
        "(people released sooner, more such recordings reach agents).",
    ),
    "model_greeting_max_ms": Spec(
        6500,
        500,
        30000,
        "ms",
        "A greeting past greeting_ms that the model takes for a live one is MACHINE anyway "
        "once it runs this long.",
    ),
    "model_silent_machine": Spec(
        0.7,
        0.0,
        1.0,
        "probability",
        "After model_wait_ms of silence with no beep and no second utterance: P(machine) at "
        "least this is MACHINE (a recording waiting for its message), below it HUMAN. 1 = "
        "always HUMAN.",
        integer=False,
    ),
    "second_utterance_ms": Spec(
        1000,
        0,
        5000,
        "ms",
        "Speech that starts after this much silence following the greeting is a second "
        'utterance: a person who heard nobody answer says "Hello?" again; HUMAN at once. '
        "0 = off.",
    ),
    "answer_valley_db": Spec(
        20,
        0,
        60,
        "dB",
        "Early media: audio already loud in the first 50 ms after answer whose line then "
        "falls this far below it (within answer_valley_look_ms) was a recording playing "
        "before the answer (people speak after they pick up): never HUMAN, and the line's "
        "background is learnt from that quiet, not from the voice. 0 = off.",
    ),
    "answer_valley_look_ms": Spec(
        2000,
        0,
        10000,
        "ms",
        "How long after answer the quiet that confirms a voice at answer may come.",
    ),
    "answer_swing_db": Spec(
        8,
        0,
        30,
        "dB",
        "Early media in noise: a line on which no speech was heard by initial_silence_ms "
        "(a voice from the start teaches the detector its background) was a recording "
        "playing before the answer when its 120 ms energy swings this much within "
        "half-seconds (median p90 - p10: syllables; a noisy or babbling line swings "
        "less): MACHINE instead of SILENCE. 0 = off.",
    ),
}

ALIASES: dict[str, str] = {s.app_amd: name for name, s in SPECS.items() if s.app_amd}

PRESETS: dict[str, dict[str, Any]] = {
    # Decide early: shorter pauses release the call and app_amd's 5 s cap ends
    # the analysis (NOTSURE, i.e. to an agent), so more machines reach agents;
    # nobody is hung up on sooner than with the defaults.
    "fast": {
        "after_greeting_silence_ms": 450,
        "long_greeting_silence_ms": 700,
        "total_analysis_time_ms": 5000,
        "model_short_wait_ms": 0,  # an unsure "Hello?" is released at once
        # within 5 s a long greeting cannot be heard to its end: let a sure model decide it
        "model_threshold": 0.9,
    },
    # Wait for the beep or for the end of a long greeting: fewer live callees hung
    # up on, a late beep after a long greeting is still heard.
    "accurate": {
        "model_short_wait_ms": 1000,
        "greeting_ms": 4500,
        "long_greeting_silence_ms": 1200,
        "total_analysis_time_ms": 12000,
    },
}


@dataclass(frozen=True, slots=True)
class AmdParams:
    initial_silence_ms: float
    greeting_ms: float
    after_greeting_silence_ms: float
    short_greeting_ms: float
    long_greeting_silence_ms: float
    total_analysis_time_ms: float
    minimum_word_length_ms: float
    between_words_silence_ms: float
    maximum_number_of_words: float
    maximum_word_length_ms: float
    silence_threshold: float
    speech_margin_db: float
    beep_min_ms: float
    beep_max_ms: float
    beep_min_hz: float
    beep_max_hz: float
    tone_purity: float
    fax_detection: float
    model: float
    model_machine: float
    model_human: float
    model_threshold: float
    model_wait_ms: float
    model_short_wait_ms: float
    model_greeting_max_ms: float
    model_silent_machine: float
    second_utterance_ms: float
    answer_valley_db: float
    answer_valley_look_ms: float
    answer_swing_db: float

    def with_changes(self, **changes: Any) -> AmdParams:
        return replace(self, **changes)


def _coerce(name: str, value: Any, given: str = "") -> float:
    """``value`` as the parameter's number; ValueError naming it as the caller wrote it."""
    spec = SPECS[name]
    shown = f"{given} ({name})" if given and given != name else name
    if isinstance(value, bool):
        value = int(value)
    said: dict[str, Any] = {"shown": shown, "name": given or name, "value": value}
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValue("amd_numpy.not_a_number", **said) from None
    if number != number or not spec.low <= number <= spec.high:
        raise InvalidValue(
            "amd_numpy.out_of_range",
            low=f"{spec.low:g}",
            high=f"{spec.high:g}",
            unit=spec.unit,
            **said,
        )
    if spec.integer and number != int(number):
        raise InvalidValue("amd_numpy.not_whole", **said)
    return number


def parse_params(values: Mapping[str, Any] | None = None) -> AmdParams:
    """Defaults overridden by ``values`` (our names or app_amd's); ValueError on bad input."""
    chosen: dict[str, float] = {name: float(spec.default) for name, spec in SPECS.items()}
    for key, value in (values or {}).items():
        name = ALIASES.get(key, key)
        if name not in SPECS:
            valid = ", ".join(sorted(SPECS)) + "; app_amd names: " + ", ".join(sorted(ALIASES))
            raise InvalidValue("amd_numpy.unknown_parameter", name=key, valid=valid)
        chosen[name] = _coerce(name, value, key)
    params = AmdParams(**chosen)
    if params.beep_min_hz >= params.beep_max_hz:
        raise ValueError("AMD parameters: beep_min_hz must be below beep_max_hz")
    if params.beep_min_ms >= params.beep_max_ms:
        raise ValueError("AMD parameters: beep_min_ms must be below beep_max_ms")
    return params


def parameter_docs() -> list[AmdParameter]:
    out = []
    for name, spec in SPECS.items():
        alias = f" (app_amd: {spec.app_amd})" if spec.app_amd else ""
        default: float | int = int(spec.default) if spec.integer else spec.default
        out.append(AmdParameter(name=name, default=default, unit=spec.unit, help=spec.help + alias))
    return out


assert {f.name for f in fields(AmdParams)} == set(SPECS)
