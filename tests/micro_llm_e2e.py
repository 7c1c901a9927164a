"""End to end: train the micro-LLM (examples/micro-llm) for a few seconds on
a synthetic dataset's split, serve it OpenAI-style on a free loopback port,
and audit it through the openai adapter in every scoring mode, with
structured outputs honoured and ignored. Stops exactly the server it started.

usage: micro_llm_e2e.py RECBIAS SOURCE_DIR
Exit 0 when every check holds; 1 naming the failed checks.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

RECBIAS, SOURCE = sys.argv[1], sys.argv[2]
MICRO = os.path.join(SOURCE, "examples", "micro-llm")
PY = sys.executable
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)
    if r.returncode != 0:
        print(r.stdout[-2000:], r.stderr[-2000:], file=sys.stderr)
    return r


def serve(model, *flags):
    p = subprocess.Popen([PY, os.path.join(MICRO, "server.py"), "--model", model, "--port", "0", *flags],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.search(r"listening on (http://[\d.]+:\d+)", line)
    if not m:
        p.kill()
        raise SystemExit(f"the server did not start: {line!r} {p.stderr.read()[-2000:]}")
    return p, m.group(1) + "/v1"


with tempfile.TemporaryDirectory() as tmp:
    data, split, model = os.path.join(tmp, "data"), os.path.join(tmp, "split.json"), os.path.join(tmp, "micro.pt")
    assert run([RECBIAS, "datasets", "synth", "--out", data, "--users", "60", "--items", "120", "--seed", "4"]).returncode == 0
    assert run([RECBIAS, "datasets", "split", data, "--out", split]).returncode == 0
    trained = run([PY, os.path.join(MICRO, "train.py"), "--split", split, "--out", model, "--steps", "40", "--batch", "8",
                   "--dim", "32", "--heads", "2"])
    check(trained.returncode == 0 and os.path.exists(model), "train.py writes a checkpoint")

    # The server's key/value-cached decoder against the full forward, token by token past a 100-token prompt.
    cmp = run([PY, "-c", (
        "import sys, torch\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "import micro_llm as M\n"
        "model, tok, _ = M.load(sys.argv[2])\n"
        "torch.manual_seed(0)\n"
        "ids = [M.BOS] + torch.randint(len(M.SPECIALS), len(tok.itos), (120,)).tolist()\n"
        "d = M.Decoder(model)\n"
        "worst = float((d.extend(ids[:100]) - M.log_softmax_last(model, ids[:100])).abs().max())\n"
        "for i in range(100, 121):\n"
        "    worst = max(worst, float((d.extend([ids[i]]) - M.log_softmax_last(model, ids[:i + 1])).abs().max()))\n"
        "print(worst)\n"), MICRO, model])
    worst = float(cmp.stdout.strip() or "nan") if cmp.returncode == 0 else float("nan")
    check(worst < 1e-4, f"the cached decoder gives the full forward's next-token log-probabilities (max |diff| {worst:.1e} < 1e-4)")

    # Bad input: a split without titles, and requests the server cannot read, are refused with messages.
    old = os.path.join(tmp, "old-split.json")
    j = json.load(open(split))
    for item in j["items"]:
        item.pop("title", None)
    json.dump(j, open(old, "w"))
    r = run([PY, os.path.join(MICRO, "train.py"), "--split", old, "--out", os.path.join(tmp, "x.pt")])
    check(r.returncode == 2 and "with item titles" in r.stderr, "train.py refuses a split without titles (exit 2, says why)")

    server, url = serve(model)
    try:
        import urllib.error
        import urllib.request
        for path, body, message in [("/chat/completions", {"messages": []}, "messages: expected a non-empty array"),
                                    ("/completions", {"prompt": 3}, "prompt: expected a string"),
                                    ("/chat/completions", [1], "the body must be a JSON object")]:
            req = urllib.request.Request(url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
            try:
                urllib.request.urlopen(req, timeout=30)
                check(False, f"server: {path} {body} is refused")
            except urllib.error.HTTPError as e:
                check(e.code == 400 and message in e.read().decode(), f"server: {path} {body} -> 400 '{message}'")
        base = f"openai:base_url={url},model=micro-llm,max_history=10,max_tokens=48,in_flight=2"
        modes = {"generate": ",template=titles", "first-token": ",scoring=first-token", "pointwise": ",scoring=pointwise",
                 "loglik": ",scoring=loglik", "structured": ",structured=json_schema"}
        for name, keys in modes.items():
            out = os.path.join(tmp, f"{name}.json")
            r = run([RECBIAS, "audit", "--adapter", base + keys, "--dataset", data, "--users", "12", "--candidates", "8", "--k", "4",
                     "--permutations", "2", "--audits", "position,accuracy,grounding", "--no-cache", "--out", out])
            check(r.returncode == 0, f"{name}: the audit runs (exit {r.returncode})")
            if r.returncode != 0:
                continue
            report = json.load(open(out))
            m = report["metrics"]
            calls = m["cost"]["calls"]
            check(m["accuracy"]["ndcg"]["value"] is not None, f"{name}: NDCG@k is reported")
            check(m["grounding"]["responses"] > 0 and m["position"]["top1_picks"] > 0, f"{name}: answers grounded and picks counted")
            scores = report["provenance"].get("adapter_capabilities", {}).get("scores")
            check(scores == (name in ("first-token", "pointwise", "loglik")), f"{name}: scores capability {scores}")
            per_answer = 8 if name in ("pointwise", "loglik") else 1  # one call per candidate, K = 8
            check(calls == per_answer * m["grounding"]["responses"], f"{name}: {calls} calls for {m['grounding']['responses']} answers")
            if name == "first-token":
                check(m["cost"]["completion_tokens"] == calls, "first-token: one completion token per call")
            if name == "structured":
                check(m["grounding"]["constraint_ignored_rate"]["value"] == 0.0, "structured: the server enforces the schema by masking")
    finally:
        server.terminate()
        server.wait(timeout=30)

    server, url = serve(model, "--ignore-response-format")
    try:
        out = os.path.join(tmp, "ignored.json")
        r = run([RECBIAS, "audit", "--adapter", f"openai:base_url={url},model=micro-llm,max_tokens=48,structured=json_schema",
                 "--dataset", data, "--users", "8", "--candidates", "8", "--k", "4", "--audits", "grounding", "--no-cache", "--out", out,
                 "--md", os.path.join(tmp, "ignored.md")])
        check(r.returncode == 0, "ignored constraint: the audit runs")
        if r.returncode == 0:
            m = json.load(open(out))["metrics"]["grounding"]
            check(m["constraint_ignored_rate"]["value"] == 1.0, "ignored constraint: every answer is reported as breaking the schema")
            check("Structured outputs:" in open(os.path.join(tmp, "ignored.md")).read(), "ignored constraint: it is a finding")
    finally:
        server.terminate()
        server.wait(timeout=30)

print(f"{len(failures)} failed" if failures else "all checks passed")
sys.exit(1 if failures else 0)
