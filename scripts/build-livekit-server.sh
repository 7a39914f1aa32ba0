#!/usr/bin/env bash
# Builds the real livekit-server from the Go module proxy, once, into
# .cache/livekit-server/<version>/livekit-server, and prints that path.
# Its main package cannot be built with `go install module@version` alone, so
# the module is downloaded, copied out of the read-only module cache and built
# in place with its own go.mod and go.sum (the exact pion versions it ships).
# When no Go 1.26 can be had, writes the reason to .cache/livekit-server/UNAVAILABLE
# (tests read it and report themselves skipped) and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=v1.13.5
cache="$PWD/.cache/livekit-server"
bin="$cache/$VERSION/livekit-server"
mkdir -p "$cache"
if [ -x "$bin" ]; then
  rm -f "$cache/UNAVAILABLE"
  echo "$bin"
  exit 0
fi

unavailable() { echo "$*" | tee "$cache/UNAVAILABLE" >&2; exit 1; }

go=$(./scripts/go.sh 2>"$cache/go.err") || unavailable "no Go 1.26 to build livekit-server $VERSION: $(cat "$cache/go.err")"
json=$(cd "$cache" && GOFLAGS=-mod=mod "$go" mod download -json "github.com/livekit/livekit-server@$VERSION" 2>"$cache/download.err") \
  || unavailable "the Go module proxy did not give github.com/livekit/livekit-server@$VERSION: $(tail -3 "$cache/download.err") $(printf '%s\n' "${json:-}" | grep '"Error"')"
src=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')

work="$cache/$VERSION.src"
rm -rf "$work"
cp -r "$src" "$work"
chmod -R u+w "$work"
echo "setup: building livekit-server $VERSION (first time only; a few minutes)" >&2
(cd "$work" && "$go" build -trimpath -o livekit-server.new ./cmd/server) 2>"$cache/build.err" \
  || unavailable "building livekit-server $VERSION failed (a module the proxy refused?): $(grep -m3 -E 'error|refused|not found|404|410' "$cache/build.err" || tail -3 "$cache/build.err")"
mkdir -p "$(dirname "$bin")"
mv "$work/livekit-server.new" "$bin"
rm -rf "$work" "$cache/UNAVAILABLE"
echo "$bin"
