#!/bin/sh
# gst-inspect-1.0 <element> exits 0 and lists every property named after it.
#   tests/gst/inspect.sh <element> <property>...
set -u
element=$1; shift
out=$(gst-inspect-1.0 "$element") || { echo "gst-inspect-1.0 $element failed"; exit 1; }
for property in "$@"; do
  printf '%s\n' "$out" | grep -q "^  $property  *:" || { echo "$element: property '$property' not listed"; exit 1; }
done
echo "$element: $# properties listed"
