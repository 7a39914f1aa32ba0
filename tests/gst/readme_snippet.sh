#!/bin/sh
# The README's "Sharing one connection" code block is the code of
# tests/gst/share_room_snippet.h (from its first "/*" line on), which the gst
# tests compile and use.
#   tests/gst/readme_snippet.sh README.md tests/gst/share_room_snippet.h
set -u
readme=$1 snippet=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
sed -n '/^\/\*/,$p' "$snippet" > "$tmp/compiled"
awk '/^### Sharing one connection/ { in_section = 1 }
     in_section && in_code && /^```$/ { exit }
     in_code { print }
     in_section && /^```c$/ { in_code = 1 }' "$readme" > "$tmp/shown"
[ -s "$tmp/shown" ] || { echo "no \`\`\`c block under '### Sharing one connection' in $readme"; exit 1; }
if ! diff -u "$tmp/compiled" "$tmp/shown"; then
  echo "the README's context code differs from $snippet (above: - compiled, + shown)"
  exit 1
fi
echo "the README shows $snippet's code ($(wc -l < "$tmp/compiled") lines)"
