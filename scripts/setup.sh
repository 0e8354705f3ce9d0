#!/usr/bin/env bash
# Everything a fresh Debian 12 / Ubuntu machine needs to build, run and test imds-analyzer.
# Run as root from the repository root. Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (it installs Debian packages)" >&2
  exit 2
fi

# Build: libpcap headers and a C++ toolchain for the `cap` addon (node-gyp).
# Run: lsof (attribution fallback). Tests: namespaces (iproute2, iptables), real clients
# (curl, awscli, python3), privilege tests (util-linux setpriv), packaging (debhelper, rpm,
# lintian, patchelf), ping for the topology self-test.
packages=(
  libpcap-dev libpcap0.8 build-essential python3 make g++
  lsof iproute2 iptables curl awscli iputils-ping procps util-linux passwd tcpdump libcap2-bin
  debhelper dpkg-dev fakeroot rpm rpmlint lintian patchelf systemd logrotate python3-seccomp
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup.sh: Node.js >= 20 with npm is required (found: $(node --version 2>/dev/null || echo none))." >&2
  echo "          Install it from your distribution or nodejs.org, then run this again." >&2
  exit 2
fi

npm ci --no-audit --no-fund
