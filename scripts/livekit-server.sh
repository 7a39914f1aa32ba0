#!/usr/bin/env bash
# Starts the real livekit-server (built by scripts/build-livekit-server.sh) the
# way the tests and the demo need it, with the same contract as the test server
# (tests/sfu/server.js), so a test can take either:
#   - one readiness line on stdout, "livekit-server listening on ws://HOST:PORT",
#     printed once the server answers HTTP on that port;
#   - the server's own log on stderr (the caller keeps it for failures);
#   - SIGTERM (or SIGINT) stops it (forced after 1 s if participants stay) and exits 0.
# Dev mode (key devkey, secret secret unless --api-key/--api-secret), bound to
# HOST with HOST as its node IP (WebRTC candidates), data tracks on.
# Exits 77 (a skipped test, for meson) with the reason when there is no server.
#
#   scripts/livekit-server.sh [--host ADDR] [--port N|0] [--api-key K --api-secret S]
#                             [--data-tracks-disabled] [--ice-lite] [--no-latency-drop]
#                             [--log-level L]
# --host defaults to 10.99.0.1 (scripts/netns-run.sh's address); --port 0 (the
# default) picks free ports. --data-tracks-disabled sets enable_data_tracks: false
# (the server then refuses data-track publishes with NOT_ALLOWED).
# --no-latency-drop sets rtc.datachannel_data_track_target_latency: 0 (by
# default the server drops a subscriber's data-track packets once more than
# 100 ms of its measured rate is queued: multi-packet frames after a quiet
# spell; docs/protocol.md §12).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

VERSION=v1.13.5
bin="$root/.cache/livekit-server/$VERSION/livekit-server"
if [ ! -x "$bin" ]; then
  why=$(cat "$root/.cache/livekit-server/UNAVAILABLE" 2>/dev/null || echo "not built: run scripts/setup.sh")
  echo "SKIP: no livekit-server $VERSION: $why" >&2
  exit 77
fi

host=10.99.0.1 port=0 key=devkey secret=secret data_tracks=true ice_lite=false level=info latency=100ms
while [ $# -gt 0 ]; do
  case "$1" in
    --host) host=$2; shift ;;
    --port) port=$2; shift ;;
    --api-key) key=$2; shift ;;
    --api-secret) secret=$2; shift ;;
    --data-tracks-disabled) data_tracks=false ;;
    --ice-lite) ice_lite=true ;;
    --no-latency-drop) latency=0s ;;
    --log-level) level=$2; shift ;;
    *) echo "livekit-server.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

# Three free ports on HOST: signalling (TCP), ICE-TCP and the single ICE-UDP
# port. Taken below the kernel's ephemeral range (32768 and up), where
# browsers' and libraries' own sockets land, so another process is unlikely to
# grab one between this check and the server's bind; a clash is retried.
free_ports() {
  python3 - "$host" <<'PY'
import random, socket, sys
def free(kind):
    while True:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((sys.argv[1], random.randint(20000, 32000)))
            return s
        except OSError:
            s.close()
held = [free(socket.SOCK_STREAM), free(socket.SOCK_STREAM), free(socket.SOCK_DGRAM)]
print(*(s.getsockname()[1] for s in held))
PY
}

pid=
stop() {
  # livekit-server drains on its first signal (it waits for every participant
  # to leave) and stops at once on the second (cmd/server/main.go): give the
  # participants a second.
  [ -n "$pid" ] || exit 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 10); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  exit 0
}
trap stop TERM INT

fixed_port=$port
for attempt in 1 2 3; do
  read -r free_tcp1 free_tcp2 free_udp < <(free_ports)
  port=$fixed_port
  [ "$port" != 0 ] || port=$free_tcp1

  # Keys in the config (not --dev's built-in pair) so --api-secret works, and
  # the RTC address filter set to HOST's /24 as dev mode would for a
  # non-loopback bind.
  config="port: $port
bind_addresses: [$host]
keys:
  $key: $secret
rtc:
  node_ip: $host
  tcp_port: $free_tcp2
  udp_port: $free_udp
  use_ice_lite: $ice_lite
  # Otherwise it hands clients Google's and Twilio's public STUN servers: a
  # test must reach no outside host (and their DNS lookups only stall here).
  stun_servers: [$host:3478]
  datachannel_data_track_target_latency: $latency
  ips:
    includes: [$host/24]
enable_data_tracks: $data_tracks
logging:
  level: $level
"
  "$bin" --dev --config-body "$config" >&2 &
  pid=$!

  # Ready when the HTTP endpoint answers (livekit-server replies "OK" on /).
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rc=0; wait "$pid" || rc=$?
      pid=
      echo "livekit-server.sh: livekit-server exited with $rc before it was ready (attempt $attempt)" >&2
      continue 2
    fi
    if python3 -c "import urllib.request; urllib.request.urlopen('http://$host:$port/', timeout=1)" 2>/dev/null; then
      echo "livekit-server listening on ws://$host:$port"
      wait "$pid"
      exit $?
    fi
    sleep 0.1
  done
  echo "livekit-server.sh: not answering on http://$host:$port/ after 30 s" >&2
  kill -KILL "$pid"
  exit 1
done
echo "livekit-server.sh: livekit-server did not start in 3 attempts" >&2
exit 1
