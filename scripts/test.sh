#!/usr/bin/env bash
# README command 2: install what is missing, build, and run the whole test suite.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

install_missing "${RECBIAS_TEST_PACKAGES[@]}"
build
echo "== tests (datasets from ${RECBIAS_DATASETS:-$RECBIAS_ROOT/../shared/datasets})"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$JOBS"
