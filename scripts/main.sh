#!/usr/bin/env bash
# README command 1, the main job: install what is missing, build, find
# MovieLens 100K (--data PATH, $RECBIAS_DATA, ../shared/datasets/ml-100k, or a
# download from GroupLens verified against the known sha256 values), train the
# reference LLM-style recommender (examples/reference-model; reused from
# results/models/ when its inputs are unchanged), audit it next to the
# popularity and itemknn baselines with the standard mitigations on the same
# plan, and write report.json, report.html and summary.md into a new folder
# under results/. Then train the micro-LLM (examples/micro-llm; cached the same
# way), serve it OpenAI-style on a free loopback port, and audit it over HTTP
# in the generate, first-token and pointwise scoring modes on one plan, and
# its first-token scores under mitigations (micro-*.json/.md). With no
# MovieLens reachable it says where to get it and runs on recbias's synthetic
# dataset instead.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DATA="${RECBIAS_DATA:-}"
USERS=500
EPOCHS=4
MICRO_USERS=100
MICRO_STEPS=500
usage() {
  cat <<USAGE
usage: scripts/main.sh [--data PATH] [--users N] [--epochs N]
  --data PATH   MovieLens 100K folder (default: \$RECBIAS_DATA, then ../shared/datasets/ml-100k, then a download)
  --users N     users audited (default: 500)
  --epochs N    training epochs of the reference model (default: 4)
  --micro-users N  users in the micro-LLM's audits (default: 100)
USAGE
}
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --data=*) DATA="${1#--data=}"; shift ;;
    --users) USERS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --micro-users) MICRO_USERS="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

STARTED=$(date +%s)
install_missing "${RECBIAS_MAIN_PACKAGES[@]}"
build --target recbias
RECBIAS="$BUILD_DIR/cli/recbias"
PYTHON="${RECBIAS_PYTHON:-/usr/bin/python3}"
RESULTS="$RECBIAS_ROOT/results"
mkdir -p "$RESULTS"

# --- the dataset ------------------------------------------------------------
# Known sha256 of the GroupLens ml-100k files (see ../shared/datasets/README.md).
declare -A ML100K_SHA256=(
  [u.data]=06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490
  [u.item]=553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701
  [u.user]=f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c
)
verify_ml100k() {  # folder -> 0 when every pinned file matches
  local f
  for f in "${!ML100K_SHA256[@]}"; do
    [ -e "$1/$f" ] || return 1
    [ "$(sha256sum "$1/$f" | cut -d' ' -f1)" = "${ML100K_SHA256[$f]}" ] || { echo "warning: $1/$f does not match the GroupLens sha256" >&2; return 1; }
  done
}
download_ml100k() {  # -> prints the folder, or fails quietly when offline
  local dest="$RESULTS/data"
  if verify_ml100k "$dest/ml-100k" 2>/dev/null; then echo "$dest/ml-100k"; return 0; fi
  command -v curl >/dev/null || return 1
  mkdir -p "$dest"
  echo "== downloading MovieLens 100K from GroupLens" >&2
  curl -fsSL --max-time 120 -o "$dest/ml-100k.zip.part" https://files.grouplens.org/datasets/movielens/ml-100k.zip 2>/dev/null || { rm -f "$dest/ml-100k.zip.part"; return 1; }
  mv "$dest/ml-100k.zip.part" "$dest/ml-100k.zip"
  "$PYTHON" -m zipfile -e "$dest/ml-100k.zip" "$dest" || return 1
  verify_ml100k "$dest/ml-100k" || { echo "error: the download does not match the known sha256; not using it" >&2; return 1; }
  echo "$dest/ml-100k"
}
if [ -n "$DATA" ]; then
  [ -e "$DATA/u.data" ] || [ -e "$DATA/items.jsonl" ] || [ -e "$DATA/movies.dat" ] || {
    echo "error: --data $DATA: no MovieLens (u.data, movies.dat) or JSON Lines (items.jsonl) dataset there" >&2; exit 2; }
elif [ -e "$RECBIAS_ROOT/../shared/datasets/ml-100k/u.data" ]; then
  DATA="$RECBIAS_ROOT/../shared/datasets/ml-100k"
elif DATA=$(download_ml100k); then
  :
else
  cat >&2 <<MSG
MovieLens 100K was not found (--data, \$RECBIAS_DATA, ../shared/datasets/ml-100k) and could not be downloaded.
Get it from GroupLens: https://grouplens.org/datasets/movielens/100k/ (ml-100k.zip), unpack it, and pass
--data PATH/ml-100k (or set RECBIAS_DATA). Running on recbias's synthetic dataset instead.
MSG
  DATA="$RESULTS/data/synthetic-0"
  [ -e "$DATA/items.jsonl" ] || "$RECBIAS" datasets synth --out "$DATA" --users 943 --items 1682 --seed 0
fi
DATA="$(cd "$DATA" && pwd)"
echo "== dataset: $DATA"

# --- the reference model ------------------------------------------------------
OUT="$RESULTS/run-$(date -u +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
"$RECBIAS" datasets split "$DATA" --out "$OUT/split.json"
TRAINER="$RECBIAS_ROOT/examples/reference-model/train.py"
# The model is a function of the split, the trainer and its arguments.
MODEL_KEY=$(cat "$OUT/split.json" "$TRAINER" <(echo "epochs=$EPOCHS") | sha256sum | cut -c1-16)
MODEL="$RESULTS/models/$MODEL_KEY/reference.pt"
if [ -e "$MODEL" ]; then
  echo "== reusing the reference model $MODEL"
else
  echo "== training the reference model (examples/reference-model/train.py)"
  mkdir -p "$(dirname "$MODEL")"
  "$PYTHON" "$TRAINER" --split "$OUT/split.json" --out "$MODEL" --epochs "$EPOCHS" | tee "$OUT/training.txt"
fi

# --- the micro-LLM: a generative model served OpenAI-style --------------------------
MICRO_DIR="$RECBIAS_ROOT/examples/micro-llm"
MICRO_KEY=$(cat "$OUT/split.json" "$MICRO_DIR/train.py" "$MICRO_DIR/micro_llm.py" <(echo "steps=$MICRO_STEPS") | sha256sum | cut -c1-16)
MICRO="$RESULTS/models/$MICRO_KEY/micro.pt"
if [ -e "$MICRO" ]; then
  echo "== reusing the micro-LLM $MICRO"
else
  echo "== training the micro-LLM (examples/micro-llm/train.py, $MICRO_STEPS steps)"
  mkdir -p "$(dirname "$MICRO")"
  "$PYTHON" "$MICRO_DIR/train.py" --split "$OUT/split.json" --out "$MICRO.part" --steps "$MICRO_STEPS" | tee "$OUT/micro-training.txt"
  mv "$MICRO.part" "$MICRO"
fi
rm -f "$OUT/split.json"  # derived from the dataset; not kept beside the reports

# --- the audit -------------------------------------------------------------------
ADAPTER="torchscript:path=$MODEL"
# Position calibration needs a prior: the selection rates of a position-only
# audit on users of another seed (a probe; it sees no held-out items' ranks).
echo "== position probe for calibrate-position (seed 1, 200 users)"
"$RECBIAS" audit --adapter "$ADAPTER" --dataset "$DATA" --users 200 --seed 1 --audits position \
  --out "$OUT/position-probe.json" >/dev/null
echo "== audit of the reference model, its mitigations, popularity and itemknn ($USERS users)"
"$RECBIAS" audit --adapter "$ADAPTER" --dataset "$DATA" --users "$USERS" --candidates 20 \
  --compare "permutation:m=8,agg=mean" \
  --compare "calibrate-position:prior=$OUT/position-probe.json" \
  --compare "calibrate:target=genre,lambda=0.5" \
  --compare-adapter popularity --compare-adapter itemknn \
  --out "$OUT/report.json" --html "$OUT/report.html" --md "$OUT/summary.md" | tee "$OUT/summary.txt"

# --- the micro-LLM over HTTP, in three scoring modes on one plan --------------------
# The server is started here on a free loopback port and stopped on exit.
"$PYTHON" "$MICRO_DIR/server.py" --model "$MICRO" --port 0 > "$OUT/micro-server.txt" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do grep -q "^listening on " "$OUT/micro-server.txt" && break; sleep 0.5; done
URL="$(sed -n 's/^listening on //p' "$OUT/micro-server.txt")/v1"
[ "$URL" != "/v1" ] || { echo "error: the micro-LLM server did not start:" >&2; cat "$OUT/micro-server.txt" >&2; exit 1; }
LLM="openai:base_url=$URL,model=micro-llm,max_history=10,max_tokens=48,in_flight=2"
GENERATE="$LLM,template=titles,extra.presence_penalty=2,extra.frequency_penalty=2"
echo "== micro-LLM at $URL: position probe on first-token scores (seed 1, 200 users)"
"$RECBIAS" audit --adapter "$LLM,scoring=first-token" --dataset "$DATA" --users 200 --seed 1 --permutations 4 --audits position \
  --no-cache --out "$OUT/micro-position-probe.json" >/dev/null
echo "== micro-LLM: generate vs first-token vs pointwise, and popularity ($MICRO_USERS users)"
"$RECBIAS" audit --adapter "$GENERATE" --dataset "$DATA" --users "$MICRO_USERS" --candidates 20 --permutations 4 \
  --audits position,popularity,grounding,accuracy --no-cache \
  --compare-adapter "$LLM,scoring=first-token" --compare-adapter "$LLM,scoring=pointwise" --compare-adapter popularity \
  --out "$OUT/micro-report.json" --html "$OUT/micro-report.html" --md "$OUT/micro-summary.md" | tee "$OUT/micro-summary.txt"
echo "== micro-LLM: mitigations on its first-token scores ($MICRO_USERS users)"
"$RECBIAS" audit --adapter "$LLM,scoring=first-token" --dataset "$DATA" --users "$MICRO_USERS" --candidates 20 --permutations 4 \
  --audits position,popularity,grounding,accuracy --no-cache \
  --compare "permutation:m=4,agg=mean" --compare "calibrate-position:prior=$OUT/micro-position-probe.json" --compare fair \
  --out "$OUT/micro-mitigations.json" --md "$OUT/micro-mitigations.md" | tee "$OUT/micro-mitigations.txt"

echo
echo "== done in $(( $(date +%s) - STARTED )) s; files in $OUT:"
for f in report.json report.html summary.md summary.txt position-probe.json micro-report.json micro-report.html micro-summary.md \
         micro-mitigations.json micro-mitigations.md; do echo "   $OUT/$f"; done
