#!/usr/bin/env bash
# Runs a command inside a fresh network namespace with lo up, a veth address
# (10.99.0.1/24) and a default route (Chromium gathers no candidates without
# one), then deletes the namespace. WebRTC stacks ignore loopback, so every
# WebRTC test runs in here. Needs root (CI is root).
#   scripts/netns-run.sh <command> [args...]
set -euo pipefail
ns="lkt-$$-$RANDOM"
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add va type veth peer name vb
ip -n "$ns" addr add 10.99.0.1/24 dev va
ip -n "$ns" link set va up
ip -n "$ns" link set vb up
ip -n "$ns" route add default via 10.99.0.2 dev va
# net.core.rmem_*/wmem_* cannot be raised inside a namespace on this kernel:
# processes that need big UDP buffers set SO_RCVBUF/SO_SNDBUF themselves.
set +e
ip netns exec "$ns" "$@"
rc=$?
exit $rc
