#!/usr/bin/env bash
# Installs what the project needs on a Debian 12 machine, idempotently:
# apt packages (only when one is missing), npm packages from the committed
# lockfiles (only when the lockfile changed), the real livekit-server (once),
# and configures the build dirs.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  protobuf-compiler libprotobuf-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-nice
  libglib2.0-dev libsoup-3.0-dev libnice-dev libusrsctp-dev libssl-dev
  libgtest-dev libbenchmark-dev libjson-glib-dev
  nodejs npm chromium iproute2 iptables valgrind python3 ca-certificates coturn
  gnuplot-nox
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  # A machine may carry its own node/npm outside apt; accept those.
  case "$p" in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Node tooling: one npm project per folder with a committed lockfile.
for dir in tests/interop tests/sfu examples/telemetry-viewer; do
  [ -f "$dir/package-lock.json" ] || continue
  stamp="$dir/node_modules/.lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$stamp"
  fi
done

# The real livekit-server (Go, from the Go module proxy), built once into
# .cache/; without a Go 1.26 the tests that need it report themselves skipped.
if lk=$(./scripts/build-livekit-server.sh); then
  echo "setup: livekit-server: $lk"
else
  echo "setup: no livekit-server; real-server tests will be skipped (reason in .cache/livekit-server/UNAVAILABLE)"
fi

# Build dirs: 'build' (gcc, -Werror) runs everything; 'build-san' (clang,
# ASan+UBSan) runs the unit, fuzz and transport suites.
if [ ! -f build/build.ninja ]; then
  meson setup build --werror >/dev/null
fi
if [ "${SKIP_SAN:-0}" != 1 ] && [ ! -f build-san/build.ninja ]; then
  CC=clang CXX=clang++ meson setup build-san -Db_sanitize=address,undefined \
    -Db_lundef=false -Dfuzz=enabled -Dbenchmarks=disabled >/dev/null
fi
