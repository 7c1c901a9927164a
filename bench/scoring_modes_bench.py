"""Completion tokens and wall time per recommendation of the openai adapter's
scoring modes against the micro-LLM server, measured side by side in one
run and printed as ratios to `generate` (goal: first-token >= 20x fewer
completion tokens and >= 3x less wall time per recommendation at K = 20).

usage: scoring_modes_bench.py RECBIAS DATASET MODEL.pt [USERS]
  MODEL.pt: a micro-LLM checkpoint (examples/micro-llm/train.py; scripts/main.sh
  caches one under results/models/). Starts the server on a free loopback
  port and stops it at the end.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

RECBIAS, DATASET, MODEL = sys.argv[1:4]
USERS = sys.argv[4] if len(sys.argv) > 4 else "100"
HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "..", "examples", "micro-llm", "server.py")

server = subprocess.Popen([sys.executable, SERVER, "--model", MODEL, "--port", "0"], stdout=subprocess.PIPE, text=True)
line = server.stdout.readline()
url = re.search(r"listening on (\S+)", line).group(1) + "/v1"
modes = [("generate", ",template=titles,extra.presence_penalty=2,extra.frequency_penalty=2"), ("first-token", ",scoring=first-token"),
         ("pointwise", ",scoring=pointwise")]
rows = {}
try:
    with tempfile.TemporaryDirectory() as tmp:
        for name, keys in modes:
            out = os.path.join(tmp, name + ".json")
            started = time.monotonic()
            subprocess.run([RECBIAS, "audit", "--adapter", f"openai:base_url={url},model=micro-llm,max_history=10,max_tokens=48,in_flight=2"
                            + keys, "--dataset", DATASET, "--users", USERS, "--candidates", "20", "--audits", "accuracy", "--no-cache",
                            "--out", out], check=True, capture_output=True)
            wall = time.monotonic() - started
            m = json.load(open(out))["metrics"]
            delivered = m["cost"]["delivered"]
            rows[name] = {"completion_tokens": m["cost"]["completion_tokens"] / delivered, "calls": m["cost"]["calls"] / delivered,
                          "wall_s": wall / delivered, "ndcg": m["accuracy"]["ndcg"]["value"]}
finally:
    server.terminate()
    server.wait(timeout=30)

g = rows["generate"]
print(f"K = 20, {USERS} users, one server process (2 threads), per recommendation:")
print(f"{'mode':<12} {'calls':>6} {'completion tokens':>18} {'wall ms':>9} {'NDCG@10':>8} {'tokens / generate':>18} {'wall / generate':>16}")
for name, r in rows.items():
    print(f"{name:<12} {r['calls']:>6.1f} {r['completion_tokens']:>18.1f} {1000 * r['wall_s']:>9.1f} {r['ndcg']:>8.3f} "
          f"{r['completion_tokens'] / g['completion_tokens']:>18.3f} {r['wall_s'] / g['wall_s']:>16.3f}")
f = rows["first-token"]
print(f"first-token: {g['completion_tokens'] / f['completion_tokens']:.1f}x fewer completion tokens (goal >= 20), "
      f"{g['wall_s'] / f['wall_s']:.1f}x less wall time (goal >= 3) than generate")
