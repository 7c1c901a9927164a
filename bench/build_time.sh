#!/usr/bin/env bash
# Fresh-build time of everything the README's test command builds, each file
# compiled alone vs in unity batches (CMAKE_UNITY_BUILD, what
# scripts/common.sh configures), side by side in one run, without ccache.
#   bash bench/build_time.sh [JOBS]          (default: the number of cores)
# Prints, per mode, the wall time and the compiler's CPU time (user + system
# of cmake --build and its children), then their ratios. Each mode builds in
# a scratch folder that is removed afterwards; the checkout is not touched.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="${1:-$(nproc)}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

declare -A wall cpu
for mode in OFF ON; do
  dir="$scratch/unity-$mode"
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRECBIAS_WERROR=ON -DRECBIAS_BUILD_BENCH=OFF \
        -DRECBIAS_CCACHE=OFF -DCMAKE_UNITY_BUILD="$mode" >/dev/null
  TIMEFORMAT='%R %U %S'
  status=0
  { time cmake --build "$dir" -j "$jobs" >"$dir.log" 2>&1 || status=$?; } 2>"$dir.time"
  if [ "$status" -ne 0 ]; then
    echo "error: the build with CMAKE_UNITY_BUILD=$mode failed (exit $status); the end of its log:" >&2
    tail -20 "$dir.log" >&2
    exit 1
  fi
  read -r w u s <"$dir.time"
  wall[$mode]="$w"
  cpu[$mode]="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')"
  printf 'CMAKE_UNITY_BUILD=%-3s  wall %7.1f s  compiler CPU %7.1f s  (%d jobs)\n' "$mode" "$w" "${cpu[$mode]}" "$jobs"
  rm -rf "$dir"
done
awk -v wp="${wall[OFF]}" -v wu="${wall[ON]}" -v cp="${cpu[OFF]}" -v cu="${cpu[ON]}" \
  'BEGIN { printf "unity / plain: wall %.2f (%.2fx as fast), compiler CPU %.2f\n", wu / wp, wp / wu, cu / cp }'
