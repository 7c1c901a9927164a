#!/usr/bin/env bash
# Builds the benchmarks (off in the test build: CTest never runs them) and,
# with arguments, runs one: bash scripts/bench.sh [bench_NAME ARGS...]
#   bash scripts/bench.sh                               # build them all
#   bash scripts/bench.sh bench_accumulators            # build, then run one
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

install_missing "${RECBIAS_TEST_PACKAGES[@]}"
cmake -S "$RECBIAS_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DRECBIAS_WERROR=ON -DRECBIAS_BUILD_BENCH=ON -DCMAKE_UNITY_BUILD=ON >/dev/null
echo "== building the benchmarks with $JOBS jobs"
cmake --build "$BUILD_DIR" -j "$JOBS"
if [ $# -gt 0 ]; then
  name="$1"
  shift
  "$BUILD_DIR/bench/$name" "$@"
fi
