#!/usr/bin/env bash
# Idempotent set-up for a fresh Debian/Ubuntu machine:
#   scripts/setup.sh demo   → virtual environment with the operator and the embedded emulator
#   scripts/setup.sh test   → the above plus test tools, Prometheus and Alertmanager (Debian packages)
# Re-running is cheap: the venv is reinstalled only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-demo}"
venv="${GOVERNOR_VENV:-.venv}"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root to run: $*"; return 1; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

command -v python3 >/dev/null || apt_install python3
python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
if [ "$profile" = test ]; then
  command -v gcc >/dev/null || apt_install gcc libc6-dev
  command -v openssl >/dev/null || apt_install openssl   # the cluster tests' certificates
  { command -v prometheus && command -v prometheus-alertmanager && command -v promtool; } >/dev/null 2>&1 \
    || apt_install prometheus prometheus-alertmanager
fi

if [ ! -x "$venv/bin/python" ]; then
  log "creating virtual environment $venv"
  python3 -m venv "$venv"
fi
stamp="$venv/.governor-$profile"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  log "installing inference-governor[$profile] into $venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -e ".[$profile]"
  touch "$stamp"
fi
