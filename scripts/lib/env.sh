# Shared by the scripts: puts Swift on PATH and installs the C toolchain when missing.
# shellcheck shell=bash

ensure_toolchain() {
  if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
    export PATH=/opt/swift/usr/bin:$PATH
  fi
  command -v swift >/dev/null 2>&1 || { echo "swift not found: install Swift 6 (expected at /opt/swift)" >&2; exit 1; }
  local missing=()
  command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Headers and libraries the Swift build links against.
ensure_build_libraries() {
  local missing=()
  for pkg in liblz4-dev libzstd-dev libsnappy-dev zlib1g-dev libffi-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# The Python virtual environment shared by the scripts and tests: .venv at the package root.
ensure_venv() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [ ! -x "$root/.venv/bin/python" ]; then
    python3 -m venv "$root/.venv"
  fi
  local wanted=()
  for pkg in "$@"; do
    "$root/.venv/bin/python" -m pip show "$pkg" >/dev/null 2>&1 || wanted+=("$pkg")
  done
  if [ ${#wanted[@]} -gt 0 ]; then
    echo "installing ${wanted[*]} into .venv..."
    "$root/.venv/bin/python" -m pip install -q "${wanted[@]}"
  fi
}
