#!/usr/bin/env bash
# Installs FFmpeg's shared libraries when they are missing: torchcodec (used by Coqui TTS and by
# `datasets` audio features) loads them at run time. Debian/Ubuntu via apt-get; elsewhere it says
# what to install and goes on. Installs nothing when they are there.
set -euo pipefail
# Debian keeps ldconfig in /sbin, which a user's PATH (or `env -i`) often lacks.
ldconfig=$(PATH="$PATH:/sbin:/usr/sbin" command -v ldconfig || true)
if [ -n "$ldconfig" ] && "$ldconfig" -p 2>/dev/null | grep -q 'libavutil\.so'; then
  exit 0
fi
if [ -z "$ldconfig" ] && compgen -G '/usr/lib/*/libavutil.so.*' >/dev/null; then
  exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing FFmpeg shared libraries (apt-get install ffmpeg)" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
else
  echo "note: FFmpeg's shared libraries are missing; install ffmpeg (e.g. 'sudo apt-get install ffmpeg') for Coqui TTS and datasets audio" >&2
fi
