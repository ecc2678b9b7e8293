"""A held-out AMD corpus: the shared generator with other voices, engines, phrases and noises.

    python3 bench/amd_heldout_corpus.py --out /tmp/amd-heldout --seed 101

``../shared/amd-corpus/make_corpus.py`` only makes its ``dev`` set (espeak-ng and
mbrola voices, phrase bank A). The detector is judged on clips it has never
heard, so this script drives the same clip builder (timings, beeps, SIT tones,
fax, music, SNRs, packet loss, G.711) with:

* other engines and voices: flite (kal, slt, awb, rms), SVOX pico (en-US,
  en-GB, es-ES), the mbrola us3 voice and espeak-ng accents the dev set does
  not use (Scottish, Caribbean, New York, Received Pronunciation, West Midlands);
* phrase bank H below, written for this purpose: none of its sentences is in
  bank A, and its voicemail pieces have other lengths. Its long live greetings
  follow the generator's definition of the category (a ~2.5 s business-like
  live answer; bank A's last 1.8-4.6 s): a first draft had 4.5-6.5 s ones,
  longer than any greeting the detector lets through as live (``greeting_ms``);
* other noises: half of the "pink" noise is brown (1/f^2) noise, babble is made
  of the held-out voices and phrases, and 20 % of the noise waxes and wanes
  (a slow 0.2-1 Hz level swing of up to 6 dB) instead of staying steady.

Needs what ``setup.sh`` installs plus ``apt-get install flite libttspico-utils
mbrola-us3``. Writes labels.csv (the shared generator's columns) and meta.json.
It was written before the detector's last tuning round and its figures were
only read, never tuned on (see docs/amd.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

CORPUS_DIR = Path(__file__).resolve().parents[2] / "shared" / "amd-corpus"
SET_NAME = "heldout"

VOICES = {
    "en": [
        ("flite", "kal"),
        ("flite", "slt"),
        ("flite", "awb"),
        ("flite", "rms"),
        ("pico", "en-US"),
        ("pico", "en-GB"),
        ("mbrola", "mb-us3"),
        ("espeak", "en-gb-scotland"),
        ("espeak", "en-029"),
        ("espeak", "en-us-nyc"),
        ("espeak", "en-gb-x-rp"),
        ("espeak", "en-gb-x-gbcwmd"),
    ],
    "es": [("pico", "es-ES"), ("pico", "es-ES"), ("espeak", "es")],
    "pt": [("espeak", "pt"), ("espeak", "pt-br")],
}
LANG_P = {"en": 0.6, "pt": 0.15, "es": 0.25}

BANK_H: dict[str, dict[str, list[str]]] = {
    "en": {
        "human_short": [
            "Hello, who's calling?",
            "Hey.",
            "Good morning.",
            "Yep, go ahead.",
            "This is Sam.",
            "Hello, yes?",
            "Uh, hello?",
            "Morning, Rachel here.",
        ],
        "human_long": [
            "Good morning, Oakridge Plumbing, Susan speaking.",
            "Hello, Tony Martinez here, who am I talking to?",
            "Hi, front desk, Linda speaking, can I help you?",
            "Yes hello, Robert Chen, who's calling please?",
        ],
        "personal_open": [
            "Hey there, it's Chris.",
            "Hi, this is the Garcia family.",
            "You've got Melissa's voicemail.",
            "Hello, Daniel and Priya here.",
            "Hi, it's Grandpa Joe.",
        ],
        "business_open": [
            "Thanks for calling Riverside Veterinary Hospital.",
            "You've reached Harbor View Realty.",
            "Hello, and thank you for calling the Westfield Library.",
            "You have reached Summit Heating and Cooling.",
        ],
        "middle": [
            "Nobody can take your call at the moment.",
            "We're closed for the holidays and will reopen on the third.",
            "I'm probably out walking the dog.",
            "For appointments, press nothing and just wait.",
            "Our team is helping other customers right now.",
            "I check my messages every evening.",
            "Please speak slowly and spell your last name.",
        ],
        "closer": [
            "Leave a message and I'll get back to you.",
            "Record your message when you hear the tone.",
            "Thanks, and have a great day.",
            "Please leave a detailed message including your account number and the best time to reach you.",
            "Cheers.",
        ],
        "carrier_beep": [
            "Your call has been forwarded to an automatic voice message system. The party you are trying to reach is not available. At the tone, please record your message.",
            "The wireless customer you are calling is not available. Please leave a message after the tone.",
        ],
        "carrier_nobeep": [
            "We're sorry, the number you have reached is not in service.",
            "All circuits are busy now. Please try your call again later.",
            "The customer you are calling cannot be reached at this time.",
        ],
    },
    "pt": {
        "human_short": ["Alô, quem é?", "Oi, pode falar.", "Fala.", "Bom dia.", "Pronto?"],
        "human_long": [
            "Bom dia, aqui é a Juliana, posso ajudar?",
            "Alô, Ricardo falando, com quem eu falo?",
        ],
        "personal_open": ["Oi, você ligou para o Marcos.", "Olá, aqui é a Beatriz."],
        "business_open": [
            "Você ligou para a Padaria Pão Dourado.",
            "Obrigada por ligar para o Escritório Lima e Costa.",
        ],
        "middle": [
            "Não posso atender agora.",
            "Estamos em horário de almoço.",
            "Retornamos todas as ligações no mesmo dia.",
            "Estou viajando esta semana.",
        ],
        "closer": [
            "Deixe uma mensagem depois do bipe.",
            "Fale após o sinal, obrigado.",
            "Até logo.",
        ],
        "carrier_beep": ["A pessoa chamada não pode atender. Grave sua mensagem após o sinal."],
        "carrier_nobeep": [
            "O número chamado não recebe ligações no momento.",
            "Esta ligação não pode ser completada. Tente mais tarde.",
        ],
    },
    "es": {
        "human_short": ["¿Sí, dígame?", "¿Quién es?", "Buenos días.", "¿Hola, sí?", "Adelante."],
        "human_long": [
            "Buenos días, le atiende Carmen, ¿dígame?",
            "Hola, soy Miguel Torres, ¿quién llama?",
        ],
        "personal_open": ["Hola, has llamado a Elena.", "Hola, soy Andrés."],
        "business_open": [
            "Gracias por llamar a Inmobiliaria del Sol.",
            "Ha llamado al Taller Mecánico Ruiz.",
        ],
        "middle": [
            "Ahora mismo no estoy disponible.",
            "Nuestro horario es de ocho a tres.",
            "Estamos de vacaciones hasta septiembre.",
            "Devolvemos todas las llamadas.",
        ],
        "closer": ["Deja tu mensaje después del tono.", "Gracias, hasta pronto.", "Hable ahora."],
        "carrier_beep": [
            "La persona a la que llama no puede atenderle. Grabe su mensaje después de la señal."
        ],
        "carrier_nobeep": [
            "El número al que llama no está operativo.",
            "Todas las líneas están ocupadas. Inténtelo más tarde.",
        ],
    },
}


def _load_generator() -> Any:
    sys.path.insert(0, str(CORPUS_DIR))
    import make_corpus  # the shared generator (not a package)

    bank_a = make_corpus.BANK_A
    a_phrases = {p for lang in bank_a.values() for lst in lang.values() for p in lst}
    reused = [p for lang in BANK_H.values() for lst in lang.values() for p in lst if p in a_phrases]
    if reused:
        raise SystemExit(f"phrase bank H reuses dev phrases: {reused}")
    make_corpus.BANK_A = BANK_H  # Ctx reads the module's bank when it is built
    make_corpus.VOICES[SET_NAME] = VOICES
    make_corpus.LANG_P = LANG_P
    original_noise = make_corpus.make_noise

    def heldout_noise(ctx: Any, kind: str, n: int, rng: np.random.Generator) -> Any:
        if kind == "pink" and rng.random() < 0.5:
            white = np.fft.rfft(rng.standard_normal(n + 1))
            f = np.arange(len(white), dtype=float)
            f[0] = 1.0
            y = np.fft.irfft(white / f, n + 1)[:n]  # brown: 1/f^2 power
            y = y / (np.std(y) + 1e-12)
        else:
            y = original_noise(ctx, kind, n, rng)
        if rng.random() < 0.2:
            t = np.arange(n) / make_corpus.SR
            swing_db = rng.uniform(2.0, 6.0) * np.sin(
                2 * np.pi * rng.uniform(0.2, 1.0) * t + rng.uniform(0, 2 * np.pi)
            )
            y = y * 10 ** (swing_db / 20)
            y = y / (np.sqrt(np.mean(y**2)) + 1e-12)
        return y

    make_corpus.make_noise = heldout_noise
    return make_corpus


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "amd_tts_cache"))
    a = ap.parse_args()
    gen = _load_generator()
    a.out.mkdir(parents=True, exist_ok=True)
    os.makedirs(a.cache, exist_ok=True)
    for old in a.out.glob("*.wav"):
        old.unlink()
    counts = {
        "HUMAN": round(a.n * 0.45),
        "MACHINE": round(a.n * 0.45),
        "SILENCE": round(a.n * 0.05),
    }
    counts["FAX"] = a.n - sum(counts.values())
    labels = [label for label, k in counts.items() for _ in range(k)]
    order = np.random.default_rng([a.seed, 1, 10**6]).permutation(len(labels))
    jobs = [((SET_NAME, a.seed, a.cache), i, labels[j], str(a.out)) for i, j in enumerate(order)]
    t0 = time.time()
    with get_context("fork").Pool(a.jobs) as pool:  # fork: workers inherit the patched generator
        rows = pool.map(gen._worker, jobs, chunksize=4)
    with open(a.out / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=gen.FIELDS)
        writer.writeheader()
        for m in rows:
            writer.writerow({k: m.get(k, "") for k in gen.FIELDS})
    meta = {
        "set": SET_NAME,
        "seed": a.seed,
        "n": a.n,
        "counts": counts,
        "voices": {k: [f"{e}:{v}" for e, v in vs] for k, vs in VOICES.items()},
        "phrase_bank": "H (bench/amd_heldout_corpus.py)",
        "noise": "white; pink or brown; babble of held-out voices; 20 % with a slow level swing",
        "total_audio_s": round(sum(m["duration_s"] for m in rows), 1),
    }
    (a.out / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
    print(f"wrote {len(rows)} clips {counts} to {a.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
