"""Calls `recbias audit --sequential` uses to decide the rule `position.tvd
max 0.05 (interval)`, against the fixed design's calls (the same audit of
every user), with the decision each reaches, measured side by side on the
`simulated` recommender over MovieLens 100K (943 users, K = 20): with a
clear position bias (primacy at strength 0.8, TVD about 0.1) and with none.
Goal: <= 25% of the fixed design's calls with the bias, and no false
failure without it.

usage: sequential_bench.py RECBIAS DATASET [SEEDS]
"""
import json
import os
import subprocess
import sys
import tempfile

RECBIAS, DATASET = sys.argv[1:3]
SEEDS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
if not os.path.exists(os.path.join(DATASET, "u.data")):
    print(f"SKIP: {DATASET}/u.data not found (MovieLens 100K)")
    sys.exit(0)

POLICY = '{"rules": [{"name": "position bias", "metric": "position.tvd", "max": 0.05, "strictness": "interval"}]}'
SCENARIOS = [("TVD ~0.1", "primacy,position_strength=0.8"), ("no bias", "none")]


def audit(tmp, position, seed, sequential):
    out = os.path.join(tmp, f"r-{seed}-{sequential}.json")
    args = [RECBIAS, "audit", "--adapter", f"simulated:relevance=none,position={position},seed={seed}", "--dataset", DATASET,
            "--users", "0", "--audits", "position", "--bootstrap", "200", "--seed", str(seed), "--policy", os.path.join(tmp, "p.json"),
            "--out", out, "--force"]
    if sequential:
        args.append("--sequential")
    run = subprocess.run(args, capture_output=True, text=True)
    if run.returncode not in (0, 1, 3):
        sys.exit(f"audit failed ({run.returncode}): {run.stderr}")
    report = json.load(open(out))
    if sequential:
        s = report["sequential"]
        return s["rules"][0]["decision"], s["calls_used"], s["calls_fixed_design"], s["rules"][0]["interval"]
    lo, hi = report["metrics"]["position"]["tvd"]["ci"]
    decision = "fail" if lo > 0.05 else "pass" if hi <= 0.05 else "undecided"
    return decision, report["counts"]["calls"], report["counts"]["calls"], [lo, hi]


with tempfile.TemporaryDirectory() as tmp:
    open(os.path.join(tmp, "p.json"), "w").write(POLICY)
    print(f"{'scenario':<10} {'seed':>4} {'fixed':>10} {'calls':>7} {'sequential':>11} {'calls':>7} {'ratio':>6}  sequence interval")
    summary = {}
    for name, position in SCENARIOS:
        for seed in range(SEEDS):
            fixed_decision, fixed_calls, _, _ = audit(tmp, position, seed, False)
            decision, calls, planned, interval = audit(tmp, position, seed, True)
            assert planned == fixed_calls, (planned, fixed_calls)
            ratio = calls / fixed_calls
            summary.setdefault(name, []).append((decision, ratio))
            print(f"{name:<10} {seed:>4} {fixed_decision:>10} {fixed_calls:>7} {decision:>11} {calls:>7} {ratio:>6.2f}  "
                  f"[{interval[0]:.4f}, {interval[1]:.4f}]")
    for name, rows in summary.items():
        ratios = [r for _, r in rows]
        decisions = [d for d, _ in rows]
        print(f"{name}: sequential used {sum(ratios) / len(ratios):.1%} of the fixed design's calls on average "
              f"(max {max(ratios):.1%}); decisions: " + ", ".join(f"{d} {decisions.count(d)}" for d in ("fail", "pass", "undecided")))
