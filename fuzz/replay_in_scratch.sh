#!/bin/sh
# Runs a fuzz replay (the command line after this script's name) with a
# temporary folder of its own (TMPDIR), and fails when the replay leaves
# anything in it: a test cleans up what it created.
tmp=$(mktemp -d) || exit 1
TMPDIR="$tmp" "$@"
rc=$?
left=$(ls -A "$tmp")
rm -rf "$tmp"
if [ "$rc" -eq 0 ] && [ -n "$left" ]; then
  echo "error: the replay left files in its temporary folder: $left" >&2
  exit 1
fi
exit "$rc"
