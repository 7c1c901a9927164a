#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job on
# its default dataset (MovieLens 100K from --data, $RECBIAS_DATA or
# ../shared/datasets/ml-100k).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DATA="${RECBIAS_DATA:-$RECBIAS_ROOT/../shared/datasets/ml-100k}"
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    --data=*) DATA="${1#--data=}"; shift ;;
    *) echo "usage: scripts/main.sh [--data PATH]" >&2; exit 2 ;;
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
echo "== main job: recbias datasets describe $DATA"
"$BUILD_DIR/cli/recbias" datasets describe "$DATA"
