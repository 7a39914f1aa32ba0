#!/usr/bin/env bash
# The demo's main part, run inside scripts/netns-run.sh by scripts/demo.sh:
# a local LiveKit server, then examples/telemetry as a subscriber and as a
# publisher (50 fps video recorded to a file, one JSON telemetry sample per
# video frame on a data track), both through the livekitdata elements. Stops
# by itself after a few seconds (or on Ctrl-C) and leaves nothing running.
#   LKT_SERVER=livekit|sfu  DEMO_SECONDS=5  DEMO_VIDEO=build/demo/telemetry-video.mkv
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${DEMO_SECONDS:-5}
video=${DEMO_VIDEO:-build/demo/telemetry-video.mkv}
mkdir -p "$(dirname "$video")"
log=$(mktemp -t lkt-demo-server-XXXXXX.log)
ready=$(mktemp -t lkt-demo-ready-XXXXXX)

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$ready" "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "${LKT_SERVER:-livekit}" = livekit ]; then
  scripts/livekit-server.sh --api-key devkey --api-secret secret > "$ready" 2> "$log" &
else
  node tests/sfu/server.js --host 10.99.0.1 --port 0 --api-key devkey --api-secret secret > "$ready" 2> "$log" &
fi
pids+=($!)
for _ in $(seq 300); do grep -q ' listening on ' "$ready" && break; sleep 0.1; done
url=$(sed -n 's/.* listening on \(ws:\/\/[^ ]*\)$/\1/p' "$ready")
[ -n "$url" ] || { echo "the server did not start:"; tail -20 "$log"; exit 1; }
echo "server: $(sed -n 's/ listening on .*//p' "$ready") at $url"

export GST_PLUGIN_PATH="$PWD/build/gst" LIVEKIT_URL="$url" LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret
echo "subscriber: gst pipeline 'livekitdatasrc participant=drone track-name=telemetry ! appsink' (examples/telemetry)"
build/examples/telemetry/telemetry subscribe --room demo --participant drone --seconds $((seconds + 10)) &
pids+=($!)
sleep 1
echo "publisher: 'videotestsrc ! jpegenc ! matroskamux ! filesink' + 'appsrc ! livekitdatasink track-name=telemetry' (examples/telemetry)"
build/examples/telemetry/telemetry publish --room demo --identity drone --seconds "$seconds" --video "$video"
# The publisher's EOS unpublishes the track; the subscriber then ends with EOS.
wait "${pids[1]}"
echo "video: $video ($(stat -c %s "$video") bytes)"
