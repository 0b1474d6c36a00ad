#!/usr/bin/env bash
# Measures how fast and in how little memory `atomd validate` refuses hostile
# files: the billion-laughs alias bomb, its alias-as-mapping-key variant, a
# 1 MiB file, 64-deep nesting and one scalar holding 60,000 expressions; and
# jobs of 1,000 and 10,000 independent steps. Prints wall time and peak RSS per case,
# best of N runs (default 5), next to a small valid job for comparison.
#
#   Benchmarks/hostile-validate.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
swift build -c release --product atomd >/dev/null 2>&1
atomd=.build/release/atomd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

{
  echo "version: 1"; echo "name: bomb"; echo "l0: &l0 [lol]"
  for i in $(seq 1 9); do
    printf 'l%d: &l%d [' "$i" "$i"
    for j in $(seq 1 10); do printf '*l%d%s' $((i - 1)) "$([ "$j" -lt 10 ] && echo ', ')"; done
    echo "]"
  done
  echo "steps: [{id: a, run: echo}]"
} >"$work/billion-laughs.yaml"

{
  echo "version: 1"; echo "name: keys"; echo "a0: &a0 {x: y}"
  for i in $(seq 1 30); do echo "a$i: &a$i {? *a$((i - 1)) : 1, ? [*a$((i - 1))] : 2}"; done
  echo "steps: [{id: a, run: echo}]"
} >"$work/alias-keys.yaml"

{
  echo "version: 1"; echo "name: big"; echo "steps: [{id: a, run: echo}]"
  head -c 1100000 /dev/zero | tr '\0' '#'
} >"$work/oversized.yaml"

printf 'version: 1\nname: deep\nvars: { x: %s%s }\nsteps: [{id: a, run: echo}]\n' \
  "$(printf '[%.0s' $(seq 1 62))" "$(printf ']%.0s' $(seq 1 62))" >"$work/deep-64.yaml"

{
  printf 'version: 1\nname: many\nvars: {a: 1}\nsteps:\n  - id: a\n    run: "'
  for _ in $(seq 1 60000); do printf '${{ vars.a }} '; done
  printf '"\n'
} >"$work/60k-expressions.yaml"

# Independent steps, 1,000 and 10,000 of them: validation must be linear
# (a scan for `${{` from every scalar to the end of the file made it
# quadratic: 2,000 steps took 13 s).
for n in 1000 10000; do
  { printf 'version: 1\nname: independent\nsteps:\n'
    for i in $(seq 1 "$n"); do printf '  - id: s%d\n    run: "true"\n' "$i"; done
  } >"$work/independent-$n.yaml"
done

cp etc/jobs/deploy-app.yaml "$work/valid-deploy-app.yaml"

printf '%-24s %10s %12s  %s\n' case "best ms" "peak RSS" result
for file in "$work"/*.yaml; do
  best_ms=""; best_kb=""
  for _ in $(seq 1 "$runs"); do
    start=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$work/rss" "$atomd" validate "$file" >"$work/out" 2>&1 || true
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    kb=$(tail -1 "$work/rss")
    if [ -z "$best_ms" ] || [ "$ms" -lt "$best_ms" ]; then best_ms=$ms; fi
    if [ -z "$best_kb" ] || [ "$kb" -lt "$best_kb" ]; then best_kb=$kb; fi
  done
  result=$(sed -e "s|$work/||" "$work/out" | head -1 | cut -c1-90)
  printf '%-24s %10s %9s KiB  %s\n' "$(basename "$file" .yaml)" "$best_ms" "$best_kb" "$result"
done
