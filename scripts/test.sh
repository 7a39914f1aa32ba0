#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test in
# 'build' and, alongside, the sanitizer-relevant suites (unit, fuzz, transport, room, gst; on the test
# server, not livekit-server, to keep the suite short) in 'build-san', then prints one
# closing line "N passed, M failed" counted from meson's test logs; "test.sh: ... done at N s"
# lines say when each stage ended.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

stage() { echo "test.sh: $1 done at $SECONDS s"; }
stage setup

failed_build=0
meson compile -C build || failed_build=1
stage "build compile"
rm -f build/meson-logs/testlog.json build-san/meson-logs/testlog.json

# build-san compiles (niced) and then runs its tests while build's tests run:
# those mostly wait on servers, networks and timeouts (about a quarter of the
# two cores busy), so the second tree takes idle CPU instead of stages of its
# own. Its output is printed after build's.
san_job=""
if [ -d build-san ]; then
  (
    nice -n 10 meson compile -C build-san >build-san/compile.log 2>&1 || { cat build-san/compile.log; exit 1; }
    tail -n 1 build-san/compile.log
    echo "test.sh: build-san compile done at $SECONDS s"
    meson test -C build-san --print-errorlogs --num-processes 2 --suite unit --suite fuzz --suite transport \
      --suite room --suite gst --no-suite livekit "$@" || true
    echo "test.sh: build-san tests done at $SECONDS s"
  ) >build-san/test.sh.log 2>&1 &
  san_job=$!
fi
meson test -C build --print-errorlogs --num-processes 2 "$@"
stage "build tests"
if [ -n "$san_job" ]; then
  wait "$san_job" || failed_build=1
  cat build-san/test.sh.log
fi

python3 - "$failed_build" <<'PY'
import json, os, sys
passed = failed = skipped = 0
for d in ('build', 'build-san'):
    log = os.path.join(d, 'meson-logs', 'testlog.json')
    if not os.path.exists(log):
        continue
    for line in open(log):
        r = json.loads(line)
        res = r.get('result')
        if res in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        elif res == 'SKIP':
            skipped += 1
        else:
            failed += 1
failed += int(sys.argv[1])  # a build failure counts as a failure
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed or passed == 0 else 0)
PY
