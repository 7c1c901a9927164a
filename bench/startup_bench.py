"""Start-up of the `recbias` executable with and without its libtorch part
(librecbias_torch.so, loaded on first use), measured side by side in one
run: `recbias --version` and `recbias rank` with the popularity adapter
(neither loads libtorch) against the same `rank` with `--mitigate
permutation:m=2` (loads it). Prints mean wall time and peak RSS of each and
their ratios. Goal: commands that need no TorchScript model and no
mitigation start at least 10x faster than ones that load libtorch.

usage: startup_bench.py RECBIAS [RUNS]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

RECBIAS = sys.argv[1]
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 10


def measure(args):
    """Mean wall time and the largest peak RSS (MB) of RUNS runs (wait4: each child's own rusage)."""
    times, rss = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"{' '.join(args)} failed")
        rss.append(usage.ru_maxrss / 1024)
    return statistics.mean(times), max(rss)


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    subprocess.run([RECBIAS, "datasets", "synth", "--out", data, "--users", "20", "--items", "60", "--seed", "1"], check=True,
                   stdout=subprocess.DEVNULL)
    with open(os.path.join(tmp, "requests.jsonl"), "w") as f:
        f.write('{"id": "r1", "k": 3, "user": {"id": "u1"}, "candidates": ["s1", "s2", "s3", "s4"]}\n')
    rank = [RECBIAS, "rank", "--dataset", data, "--requests", os.path.join(tmp, "requests.jsonl"), "--adapter", "popularity"]
    torch_t, torch_rss = measure(rank + ["--mitigate", "permutation:m=2"])
    rows = [("recbias --version", *measure([RECBIAS, "--version"])), ("rank, popularity", *measure(rank))]
print(f"{'command':<42} {'mean wall s':>11} {'speed-up':>9} {'peak RSS MB':>12} {'RSS ratio':>10}")
print(f"{'rank, popularity, --mitigate (libtorch)':<42} {torch_t:>11.4f} {'1.0x':>9} {torch_rss:>12.0f} {'1.0x':>10}")
for name, t, rss in rows:
    print(f"{name:<42} {t:>11.4f} {torch_t / t:>8.1f}x {rss:>12.0f} {torch_rss / rss:>9.1f}x")
print(f"({RUNS} runs each)")
