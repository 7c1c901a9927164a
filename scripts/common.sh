# Shared by scripts/main.sh and scripts/test.sh: install what is missing
# (Debian 12, as root or with sudo), then configure and build.
set -euo pipefail

RECBIAS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${RECBIAS_BUILD_DIR:-$RECBIAS_ROOT/build}"
JOBS="${RECBIAS_JOBS:-$(nproc)}"

# Debian 12 packages recbias needs to build and test.
RECBIAS_PACKAGES=(
  cmake g++ make pkg-config
  libtorch-dev libboost-math-dev nlohmann-json3-dev libcli11-dev libfmt-dev
  catch2 libcurl4-openssl-dev libcpp-httplib-dev libssl-dev libtomlplusplus-dev ccache
)
# Only the test suite needs these: Python for the exec adapter's test
# programs, python3-torch to script TorchScript fixtures, Chromium to load
# the HTML report in a real browser, python3-jsonschema to validate reports
# with an implementation independent of recbias's own; Slurm and munge to run
# the Slurm example on a live one-node cluster the test starts itself;
# python3-yaml to parse the Kubernetes manifests.
RECBIAS_TEST_PACKAGES=(python3 python3-torch python3-jsonschema chromium libopenblas0-pthread slurm-wlm munge python3-yaml)
# The main job trains the reference model with python3-torch. OpenBLAS is the
# BLAS that Debian's libtorch then runs on (through the libblas.so.3
# alternative): the default reference BLAS is ~7x slower at matrix products.
RECBIAS_MAIN_PACKAGES=(python3 python3-torch libopenblas0-pthread curl)

install_missing() {
  local missing=()
  for pkg in "${RECBIAS_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "== dependencies: all installed"
    return
  fi
  echo "== installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root (or sudo) to install: ${missing[*]}" >&2; exit 2; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# build [cmake --build arguments]: configure, then build (everything, or
# what the arguments name, e.g. --target recbias).
build() {
  echo "== configuring in $BUILD_DIR"
  cmake -S "$RECBIAS_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DRECBIAS_WERROR=ON -DRECBIAS_BUILD_BENCH=OFF -DCMAKE_UNITY_BUILD=ON >/dev/null
  echo "== building with $JOBS jobs"
  cmake --build "$BUILD_DIR" -j "$JOBS" "$@"
}
