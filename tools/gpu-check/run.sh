#!/usr/bin/env bash
# GPU checks, on a machine with a CUDA PyTorch (no Debian packages needed):
#   bash tools/gpu-check/run.sh DEPS_INCLUDE [MODEL.pt] [LOG_DIR]
# DEPS_INCLUDE holds the header-only dependencies (boost/, nlohmann/, fmt/,
# catch2/), e.g. copied from a Debian machine's /usr/include. Builds the tensor
# parts against PyTorch's libtorch, runs the mitigation tests (the CPU/CUDA
# agreement case included) and the ensembling and calibration benchmarks on
# the GPU and on the CPU of the same machine.
set -uo pipefail
DEPS="$1"; MODEL="${2:-}"; LOG="${3:-/tmp}"
PY="${RECBIAS_PYTHON:-python3}"
BUILD=/tmp/recbias-gpu-check
PREFIX=$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
"$PY" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, torch.cuda.get_device_name(0))'
GEN=(); command -v ninja >/dev/null && GEN=(-G Ninja)
cmake -S tools/gpu-check -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$PREFIX" \
  -DRECBIAS_DEPS_INCLUDE="$DEPS" > "$LOG/configure.log" 2>&1 || { tail -40 "$LOG/configure.log"; exit 1; }
cmake --build "$BUILD" -j "$(nproc)" > "$LOG/build.log" 2>&1 || { grep -E "error" -A5 "$LOG/build.log" | head -60; exit 1; }
echo "== mitigation tests"
"$BUILD/mitigations_tests" "[cuda]" -s 2>&1 | grep -E "PASSED|FAILED|passed|failed|CUDA|skip" | head -20
"$BUILD/mitigations_tests" 2>&1 | tail -2
export RECBIAS_PYTHON="$PY"
echo "== ensembling, scorer_model.py"
"$BUILD/bench_ensemble" 20 cuda
"$BUILD/bench_ensemble" 3 cpu 0
if [ -n "$MODEL" ]; then
  echo "== ensembling, $MODEL"
  "$BUILD/bench_ensemble" 20 cuda 0 "$MODEL"
  "$BUILD/bench_ensemble" 3 cpu 0 "$MODEL"
fi
echo "== calibrated re-ranking"
"$BUILD/bench_calibration" cuda 0 5
"$BUILD/bench_calibration" cpu 0 2
