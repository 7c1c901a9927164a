#!/usr/bin/env python3
"""The GitHub Action (action.yml, action/run.sh) run locally with a fake
GitHub environment: GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, a pull_request event
file, and GITHUB_API_URL pointing at a loopback fake of GitHub's REST API for
issue comments. Checks:

- action.yml parses (python3-yaml), is a composite action whose steps run
  action/run.sh, upload the report with `if: always()`, and exit with the
  gate's code;
- a first run audits (a simulated model with a strong primacy bias), gates
  (a policy it fails), writes the verdict card and the gate table to the
  step summary, records outputs (gate-exit-code=1), and POSTs one comment
  carrying the marker; the action's last step, run as written, exits 1;
- a second run with a baseline updates that same comment (PATCH, no second
  comment) with before/after columns;
- bad inputs exit 2 naming the input; a push event makes no comment;
- the token appears in no file written and in no output.

    github_action_test.py RECBIAS SOURCE_DIR
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

TOKEN = "ghs_testtoken_5d1f0c"


def log(msg):
    print(msg, flush=True)


class FakeGitHub:
    """Issue comments of one repository, as GitHub's REST API serves them."""

    def __init__(self):
        self.comments = []  # {"id", "issue", "body"}
        self.requests = []  # (method, path, authorization)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, code, obj):
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self, method):
                fake.requests.append((method, self.path, self.headers.get("Authorization", "")))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self.reply(401, {"message": "Bad credentials"})
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length)) if length else None
                parts = self.path.split("?")[0].strip("/").split("/")
                # repos/{owner}/{repo}/issues/{n}/comments   or   repos/{owner}/{repo}/issues/comments/{id}
                if method == "GET" and parts[-1] == "comments":
                    return self.reply(200, [c for c in fake.comments if c["issue"] == int(parts[-2])])
                if method == "POST" and parts[-1] == "comments":
                    c = {"id": 1000 + len(fake.comments), "issue": int(parts[-2]), "body": payload["body"]}
                    fake.comments.append(c)
                    return self.reply(201, c)
                if method == "PATCH" and parts[-2] == "comments":
                    for c in fake.comments:
                        if c["id"] == int(parts[-1]):
                            c["body"] = payload["body"]
                            return self.reply(200, c)
                return self.reply(404, {"message": "Not Found"})

            def do_GET(self):
                self.handle_any("GET")

            def do_POST(self):
                self.handle_any("POST")

            def do_PATCH(self):
                self.handle_any("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    recbias, source = (os.path.abspath(a) for a in sys.argv[1:3])
    with open(os.path.join(source, "action.yml")) as f:
        action = yaml.safe_load(f)
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite", "action.yml must be a composite action"
    assert 'action/run.sh' in steps[0]["run"] and steps[0]["id"] == "recbias", "the first step runs action/run.sh"
    upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert upload and upload[0]["if"].startswith("always()"), "the report is uploaded with if: always()"
    assert "steps.recbias.outputs.gate-exit-code" in steps[-1]["run"], "the last step exits with the gate's code"
    for name in ("adapter", "dataset", "policy", "baseline", "comment", "github-token"):
        assert name in action["inputs"], f"action.yml lacks input {name}"
        assert f"inputs.{name}" in json.dumps(steps[0]["env"]), f"input {name} is not passed to run.sh"
    log("action.yml: composite; run.sh, upload with always(), exit with the gate's code; inputs passed")

    tmp = tempfile.mkdtemp(prefix="recbias-action-")
    github = FakeGitHub()
    try:
        data = os.path.join(tmp, "data")
        subprocess.run([recbias, "datasets", "synth", "--out", data, "--users", "60", "--items", "90", "--seed", "4"], check=True,
                       stdout=subprocess.DEVNULL)
        policy = os.path.join(tmp, "policy.json")
        with open(policy, "w") as f:
            json.dump({"rules": [{"name": "position bias below 0.02", "metric": "position.tvd", "max": 0.02},
                                 {"metric": "accuracy.ndcg", "regression": {"delta": 0.5}}]}, f)
        event = os.path.join(tmp, "event.json")
        with open(event, "w") as f:
            json.dump({"pull_request": {"number": 7}}, f)

        def run(extra_env, name):
            summary, output = os.path.join(tmp, f"{name}-summary.md"), os.path.join(tmp, f"{name}-output.txt")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
            env.update({"GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": output, "GITHUB_EVENT_NAME": "pull_request",
                        "GITHUB_EVENT_PATH": event, "GITHUB_REPOSITORY": "org/model", "GITHUB_API_URL": github.url,
                        "GITHUB_ACTION_PATH": source, "RUNNER_TEMP": tmp, "INPUT_RECBIAS": recbias,
                        "INPUT_ADAPTER": "simulated:position=primacy,position_strength=2", "INPUT_DATASET": data,
                        "INPUT_AUDIT_ARGS": "--users 60 --bootstrap 50 --audits position,accuracy", "INPUT_POLICY": policy,
                        "INPUT_COMMENT": "true", "INPUT_GITHUB_TOKEN": TOKEN, "INPUT_OUTPUT_DIR": os.path.join(tmp, name)})
            env.update(extra_env)
            for k in [k for k, v in env.items() if v is None]:
                del env[k]
            for f in (summary, output):
                open(f, "w").close()
            r = subprocess.run(["bash", os.path.join(source, "action", "run.sh")], env=env, capture_output=True, text=True)
            outputs = dict(line.split("=", 1) for line in open(output).read().splitlines() if "=" in line)
            return r, open(summary).read(), outputs

        return main_checks(run, github, tmp, policy)
    except AssertionError as e:
        log(f"FAILED: {e}")
        return 1
    finally:
        github.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main_checks(run, github, tmp, policy_with_regression):
    # 1. A pull request and a policy the model fails (no regression rule: no baseline yet).
    first_policy = os.path.join(tmp, "policy-first.json")
    with open(first_policy, "w") as f:
        json.dump({"rules": [{"name": "position bias below 0.02", "metric": "position.tvd", "max": 0.02}]}, f)
    r, summary, outputs = run({"INPUT_POLICY": first_policy}, "pr1")
    assert r.returncode == 0, f"run.sh exited {r.returncode}: {r.stderr}"
    assert outputs.get("gate-exit-code") == "1", f"gate-exit-code {outputs.get('gate-exit-code')}, expected 1 (the policy fails)"
    for f in ("report", "html", "summary"):
        assert os.path.exists(outputs[f]), f"output {f} = {outputs.get(f)} does not exist"
    assert "## recbias audit:" in summary and "position bias below 0.02" in summary and "FAIL" in summary, \
        f"the step summary lacks the verdict card or the gate table:\n{summary[:800]}"
    assert len(github.comments) == 1 and github.comments[0]["issue"] == 7, f"comments: {github.comments}"
    assert github.comments[0]["body"].startswith("<!-- recbias-report -->"), "the comment carries the marker"
    assert [m for m, _, _ in github.requests] == ["GET", "POST"], f"requests: {github.requests}"
    log(f"run 1: gate-exit-code=1, step summary {len(summary)} characters, comment {github.comments[0]['id']} created on PR #7")

    # The action's last step as written, with the output substituted: exits with the gate's code.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "action.yml")) as f:
        last = yaml.safe_load(f)["runs"]["steps"][-1]["run"]
    code = subprocess.run(["bash", "-c", last.replace("${{ steps.recbias.outputs.gate-exit-code }}", outputs["gate-exit-code"])]).returncode
    assert code == 1, f"the last step exited {code}, expected the gate's 1"

    # 2. Again with a baseline (the first run's report): the same comment is updated, with before/after columns.
    r, summary, outputs = run({"INPUT_POLICY": policy_with_regression, "INPUT_BASELINE": outputs["report"]}, "pr2")
    assert r.returncode == 0, f"run.sh exited {r.returncode}: {r.stderr}"
    assert len(github.comments) == 1, f"a second comment was made: {len(github.comments)}"
    assert [m for m, _, _ in github.requests] == ["GET", "POST", "GET", "PATCH"], f"requests: {github.requests}"
    assert "baseline" in github.comments[0]["body"].lower(), "the updated comment has no before/after columns"
    log(f"run 2 (baseline): comment {github.comments[0]['id']} updated in place (GET, PATCH), before/after columns")

    # 3. A push event: no comment; bad inputs: exit 2 naming the input.
    r, _, outputs = run({"GITHUB_EVENT_NAME": "push", "INPUT_POLICY": first_policy}, "push")
    assert r.returncode == 0 and "not a pull request" in r.stdout and len(github.requests) == 4, f"push: {r.stdout} {github.requests}"
    r, _, _ = run({"INPUT_ADAPTER": None}, "bad1")
    assert r.returncode == 2 and "input adapter (or config) is required" in r.stderr, f"no adapter: {r.returncode} {r.stderr}"
    r, _, _ = run({"INPUT_POLICY": os.path.join(tmp, "missing.json")}, "bad2")
    assert r.returncode == 2 and "missing.json does not exist" in r.stderr, f"missing policy: {r.returncode} {r.stderr}"
    r, _, _ = run({"INPUT_GITHUB_TOKEN": "", "INPUT_POLICY": first_policy}, "bad3")
    assert r.returncode == 2 and "needs the github-token input" in r.stderr, f"no token: {r.returncode} {r.stderr}"
    log("push event: no comment; missing adapter, missing policy file, missing token: exit 2 naming the input")

    leaked = []
    for folder, _, files in os.walk(tmp):
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                if TOKEN.encode() in f.read():
                    leaked.append(name)
    assert not leaked, f"the token was written to {leaked}"
    log("the token appears in no file written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
