#!/usr/bin/env bash
# Peak memory of `atomd run` while one step prints 1 GiB (in 100-byte lines),
# and the size of the capped step log afterwards.
#
#   Benchmarks/shell-output-memory.sh [BYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
bytes=${1:-1073741824}
swift build -c release --product atomd >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/loud.yaml" <<JOB
version: 1
name: loud
steps:
  - id: loud
    run: head -c $bytes /dev/zero | tr '\\\\0' a | fold -w 99
JOB
start=$(date +%s%N)
/usr/bin/time -f '%M' -o "$work/rss" .build/release/atomd run --home "$work/home" "$work/loud.yaml" >/dev/null
seconds=$(( ($(date +%s%N) - start) / 1000000 ))
log=$(find "$work/home/logs" -name 'loud.1.log')
printf 'printed %d bytes in %d ms; atomd peak RSS %s KiB; step log %s bytes\n' \
  "$bytes" "$seconds" "$(tail -1 "$work/rss")" "$(stat -c %s "$log")"
