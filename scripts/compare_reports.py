"""Compares two recbias reports (or summaries) ignoring what legitimately
differs between runs of the same audit: wall-clock times (provenance
started/finished, latency metrics and the latency sums in the cost state)
the git SHA, and the run folder's name inside paths (results/run-DATE-TIME).
Prints the first differing paths; exit 0 when identical.

usage: compare_reports.py A.json B.json
"""
import json
import re
import sys

IGNORED = ("started", "finished", "git_sha")


def strip(node, path=""):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in IGNORED or "latency" in k:
                continue
            if path.endswith("accuracy_cost") and k == "cost":
                continue  # latency ms are summed into the cost replicates
            out[k] = strip(v, f"{path}.{k}")
        return out
    if isinstance(node, list):
        return [strip(v, f"{path}[{i}]") for i, v in enumerate(node)]
    if isinstance(node, str):
        return re.sub(r"run-\d{8}-\d{6}", "run-*", node)
    return node


def diff(a, b, path, out):
    if type(a) != type(b):
        out.append(f"{path}: {type(a).__name__} vs {type(b).__name__}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'B' if k not in a else 'A'}")
            else:
                diff(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} vs {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: {a!r} vs {b!r}")


def differences(a, b, keys=None):
    """The paths where reports `a` and `b` differ (within `keys` of the
    report when given), ignoring what legitimately differs (see above)."""
    out = []
    if keys is None:
        diff(strip(a), strip(b), "", out)
    else:
        for key in keys:
            diff(strip(a.get(key)), strip(b.get(key)), key, out)
    return out


def main():
    out = differences(*(json.load(open(p)) for p in sys.argv[1:3]))
    for line in out[:40]:
        print(line)
    print(f"{len(out)} differences")
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
