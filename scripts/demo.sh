#!/usr/bin/env bash
# The main job: the livekitdata elements on a local LiveKit server: the real
# livekit-server (built by setup.sh from the Go module proxy) when it could be
# built, else the bundled LiveKit-compatible test server (tests/sfu); it says
# which. A publisher sends JSON telemetry at 50 Hz alongside a test video it
# records to a file; a subscriber prints what it receives with its end-to-end
# latency (scripts/demo-telemetry.sh). It stops by itself after a few seconds.
#   ./scripts/demo.sh            the demo
#   ./scripts/demo.sh --proofs   also the end-to-end proofs underneath: official
#                                clients through the server, our wire format vs
#                                the official TypeScript, our transport vs
#                                libwebrtc and pion, our room connection
set -euo pipefail
cd "$(dirname "$0")/.."
SKIP_SAN=1 ./scripts/setup.sh
meson compile -C build >/dev/null

if [ -x .cache/livekit-server/v1.13.5/livekit-server ]; then
  export LKT_SERVER=livekit
else
  export LKT_SERVER=sfu
  echo "(no livekit-server here: $(cat .cache/livekit-server/UNAVAILABLE 2>/dev/null || echo 'not built'); using the bundled test server)"
fi

echo "== Telemetry alongside video through the livekitdata elements"
./scripts/netns-run.sh ./scripts/demo-telemetry.sh
[ "${1:-}" = --proofs ] || exit 0

echo
echo "== 1. Official livekit-client <-> the same server (headless Chromium)"
./scripts/netns-run.sh node tests/interop/browser/demo.mjs

echo
echo "== 2. Our C++ data-track packets <-> the official client's TypeScript (de)packetizer"
node tests/interop/datatrack/datatrack_interop.mjs \
  build/tests/interop/datatrack/livekit_datatrack.mjs build/tests/interop/datatrack/datatrack-tool

echo
echo "== 3. Our WebRTC transport (libnice + OpenSSL DTLS + usrsctp) <-> libwebrtc and pion"
for remote in libwebrtc pion; do
  if [ $remote = pion ] && [ ! -x build/tests/interop/pion/pion_peer ]; then
    echo "-- with pion: not run (no Go 1.26 to build the pion peer)"
    continue
  fi
  echo "-- with $remote"
  LK_REMOTE_PEER=$remote LK_NODE="$(command -v node)" LK_WRTC_PEER="$PWD/tests/interop/wrtc/peer.mjs" \
    LK_PION_PEER="$PWD/build/tests/interop/pion/pion_peer" \
    ./scripts/netns-run.sh build/tests/transport/wrtc/remote_peer_interop_test \
    --gtest_filter='RemotePeerInterop.OursOffers*:RemotePeerInterop.RemoteOffers*:RemotePeerInterop.Messages*:RemotePeerInterop.Tampered*' \
    2>/dev/null | grep -E '^\[( +OK|  FAILED|  PASSED) ' || true
done

echo
echo "== 4. Our room connection (lib/room: signalling, transport, data tracks) through the same server"
LKT_SERVER=$LKT_SERVER LKT_SOURCE_ROOT="$PWD" LK_NODE="$(command -v node)" \
  ./scripts/netns-run.sh build/tests/room/room_test \
  --gtest_filter='RoomTest.TwoConnections*:RoomTest.ASubscriptionBeforeThePublish*' \
  2>/dev/null | grep -E '^\[( +OK|  FAILED|  PASSED) ' || true
