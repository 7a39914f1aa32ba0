#!/usr/bin/env bash
# Prints the path of a Go command of at least version 1.26 (what livekit-server
# v1.13.5 and the pion test peer need), getting one when the machine has none:
#   1. `go` on PATH, when it is 1.26 or newer;
#   2. else the official toolchain as a Go module (golang.org/toolchain, the way
#      the go command itself switches toolchains), fetched through the Go module
#      proxy by whatever older Go the machine has (Debian 12's golang-go is 1.19;
#      it is installed when there is no Go at all).
# Exits 1 with the reason on stderr when neither works.
set -euo pipefail

WANT_MINOR=26
TOOLCHAIN=go1.26.8   # the toolchain fetched when the machine's Go is older

version_ok() {  # $1: a go binary
  local v
  v=$("$1" env GOVERSION 2>/dev/null) || return 1   # e.g. go1.26.8
  [[ $v =~ ^go1\.([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge "$WANT_MINOR" ]
}

if command -v go >/dev/null && GOTOOLCHAIN=local version_ok "$(command -v go)"; then
  command -v go
  exit 0
fi

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) echo "go.sh: no Go toolchain module for $(uname -m)" >&2; exit 1 ;;
esac
module="golang.org/toolchain@v0.0.1-$TOOLCHAIN.linux-$arch"

bootstrap=$(command -v go || true)
if [ -z "$bootstrap" ]; then
  echo "go.sh: no Go on PATH; installing Debian's golang-go to fetch $TOOLCHAIN" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go; } >&2 \
    || { echo "go.sh: could not install golang-go" >&2; exit 1; }
  bootstrap=$(command -v go)
fi

# `go mod download` of a module@version needs no go.mod; the module cache it
# fills is the same one the go command uses for its own toolchain switches.
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# With -json the go command reports a refused module in the "Error" member, not on stderr.
if ! json=$(cd "$tmp" && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$bootstrap" mod download -json "$module" 2>"$tmp/err"); then
  echo "go.sh: the Go module proxy did not give $module: $(tail -3 "$tmp/err") $(printf '%s\n' "$json" | grep '"Error"')" >&2
  exit 1
fi
dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
# Module zips carry no file modes: make the tools runnable, as the go command does
# after it downloads a toolchain.
chmod a+x "$dir"/bin/* "$dir"/pkg/tool/*/* 2>/dev/null || true
if [ -z "$dir" ] || ! version_ok "$dir/bin/go"; then
  echo "go.sh: $module downloaded but $dir/bin/go does not run" >&2
  exit 1
fi
echo "$dir/bin/go"
