#!/usr/bin/env bash
# A sharded recbias audit of a vLLM endpoint as a Slurm job array, then one
# merge that runs after every shard has finished.
#
#   sbatch --array=0-7 examples/scale/slurm-audit.sh          # the shards
#   sbatch --dependency=afterok:<array job id> --wrap "recbias merge parts/part-*.json --out report.json --force"
#
# `--shard auto` reads SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT. The
# response cache is on the shared file system: a requeued task resends only
# what it had not finished.
#SBATCH --job-name=recbias-audit
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=04:00:00
#SBATCH --requeue
set -euo pipefail
mkdir -p parts
recbias audit \
  --adapter "openai:base_url=${VLLM_URL:-http://vllm-head:8000/v1},model=${VLLM_MODEL:-meta-llama/Llama-3.1-8B-Instruct},in_flight=32" \
  --dataset "${RECBIAS_DATA:-$HOME/data/ml-100k}" --users 0 \
  --shard auto --cache-dir "${RECBIAS_CACHE:-$PWD/cache}" \
  --out "parts/part-${SLURM_ARRAY_TASK_ID}.json" --force
