"""The AMD corpus generator: labelled 8 kHz telephone clips, split by TTS engine and voice.

    python bench/amd_corpus/make.py --split train --seed 1 --out /tmp/amd-train1

See ``make.py`` and docs/amd.md ("Corpus").
"""
