#!/usr/bin/env bash
# On a Debian machine with recbias's packages installed: copy the header-only
# dependencies the GPU check needs into one folder, to carry to a GPU machine
# that has a CUDA PyTorch but no Debian packages.
#   bash tools/gpu-check/collect_deps.sh OUT_DIR      (then: run.sh OUT_DIR/include ...)
# Boost: only the headers the two Boost.Math users pull in (about 8 MB, not 160).
set -euo pipefail
OUT="$1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$OUT/include"
cp -r /usr/include/nlohmann /usr/include/fmt /usr/include/catch2 "$OUT/include/"
# OpenSSL (core/sha256.cc): its headers, the two generated per-architecture
# ones, and libcrypto itself, which a GPU node may lack as a development file.
mkdir -p "$OUT/include/openssl" "$OUT/lib"
cp -r /usr/include/openssl/. "$OUT/include/openssl/"
cp /usr/include/x86_64-linux-gnu/openssl/*.h "$OUT/include/openssl/"
cp -L /usr/lib/x86_64-linux-gnu/libcrypto.so.3 "$OUT/lib/"
for f in core/stats.cc mitigations/fair_topk.cc core/bootstrap.cc; do
  g++ -std=c++20 -I"$ROOT" -I/usr/include/torch/csrc/api/include -M "$ROOT/$f"
done | tr ' \\' '\n\n' | grep '^/usr/include/boost/' | sort -u | sed 's|^/usr/include/||' |
  tar cf - -C /usr/include -T - | tar xf - -C "$OUT/include"
du -sh "$OUT/include"
