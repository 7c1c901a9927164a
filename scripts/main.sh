#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on
# its default dataset (MovieLens 100K from --data, $RECBIAS_DATA or
# ../shared/datasets/ml-100k): audit a simulated LLM recommender with
# LLMRank-like biases next to the popularity and itemknn baselines, and write
# one report per model into a new folder under results/.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DATA="${RECBIAS_DATA:-$RECBIAS_ROOT/../shared/datasets/ml-100k}"
USERS=500
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --data=*) DATA="${1#--data=}"; shift ;;
    --users) USERS="$2"; shift 2 ;;
    *) echo "usage: scripts/main.sh [--data PATH] [--users N]" >&2; exit 2 ;;
  esac
done

install_missing
build
if [ ! -e "$DATA/u.data" ]; then
  cat >&2 <<MSG
MovieLens 100K not found at $DATA.
Get it from GroupLens (https://grouplens.org/datasets/movielens/100k/, file ml-100k.zip),
unpack it, and pass --data PATH/ml-100k (or set RECBIAS_DATA).
MSG
  exit 2
fi

RECBIAS="$BUILD_DIR/cli/recbias"
OUT="$RECBIAS_ROOT/results/run-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
SIMULATED="simulated:position=llmrank,popularity_tilt=0.5,hallucination_rate=0.02,parse_failure_rate=0.01,scores=false"
for spec in "$SIMULATED" popularity itemknn; do
  name="${spec%%:*}"
  echo "== audit: $name"
  "$RECBIAS" audit --adapter "$spec" --dataset "$DATA" --users "$USERS" --candidates 20 --out "$OUT/$name.json" | tee "$OUT/$name.txt"
done
echo "== reports in $OUT"
