#!/usr/bin/env bash
# Installs the system packages the project builds and tests with. Idempotent: when
# everything is present it only checks.
set -euo pipefail

packages=(postgresql-15 postgresql-client-15 postgresql-contrib curl ca-certificates
          util-linux procps python3 python3-venv gcc make fonts-dejavu-core)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "cargo not found: Boxoffice needs a Rust toolchain (1.85 or newer, e.g. from rustup)" >&2
  exit 1
fi
# Debian's postgresql-15 starts a system cluster; the project runs its own servers and
# needs none of it.
if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | grep -q online; then
  echo "note: a system PostgreSQL cluster is running; Boxoffice does not use it"
fi
