#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test in
# 'build' and the sanitizer-relevant suites (unit, fuzz, transport, room, gst; on the test server, not
# livekit-server, to keep the suite short) in 'build-san', then prints one
# closing line "N passed, M failed" counted from meson's test logs.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

failed_build=0
meson compile -C build || failed_build=1
if [ -d build-san ]; then meson compile -C build-san || failed_build=1; fi

rm -f build/meson-logs/testlog.json build-san/meson-logs/testlog.json
meson test -C build --print-errorlogs --num-processes 2 "$@"
if [ -d build-san ]; then
  meson test -C build-san --print-errorlogs --num-processes 2 --suite unit --suite fuzz --suite transport --suite room --suite gst --no-suite livekit "$@" \
    || true
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
