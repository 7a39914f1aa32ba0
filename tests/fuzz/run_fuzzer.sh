#!/bin/sh
# Runs a libFuzzer target for a bounded time on a fresh copy of its committed
# seed corpus: run_fuzzer.sh FUZZER SEED_DIR WORK_DIR SECONDS (LKT_FUZZ_SECONDS,
# when set, for a longer run by hand).
set -eu
fuzzer=$1 seeds=$2 work=$3 seconds=${LKT_FUZZ_SECONDS:-$4}
rm -rf "$work"
mkdir -p "$work/corpus"
cp "$seeds"/* "$work/corpus/"
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/" -print_final_stats=1 "$work/corpus"
