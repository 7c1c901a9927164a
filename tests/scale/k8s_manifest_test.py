#!/usr/bin/env python3
"""The Kubernetes example (examples/scale/k8s-audit-job.yaml and
k8s-merge-job.yaml) checked without a cluster: each file parses as YAML (Debian's python3-yaml) and is a
batch/v1 Job whose pods have a container command; and every command the
manifests run is executed here with the same flags -- the Indexed Job's audit
once per completion index with the pod's environment (JOB_COMPLETION_INDEX,
RECBIAS_SHARD_COUNT, the API key from its secret) and Kubernetes' $(VAR)
expansion, then the merge Job's shell command (merge, render, gate). Only
what a cluster provides is substituted: the volumes' mount paths (/data,
/work) by temporary folders and the vLLM Service URL by the loopback chat
model (recbias_fake_openai). The merged report must equal a single run's,
and the API key must appear in no file the commands wrote.

No scheduler runs here: that the manifests schedule, mount and restart as
intended on a real cluster is NOT checked (the README says so).

    k8s_manifest_test.py RECBIAS FAKE_OPENAI SOURCE_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

SECRET = "sk-test-k8s-3f9a1c"


def log(msg):
    print(msg, flush=True)


def expand(text, env):
    """Kubernetes' expansion of a container command: $(NAME) becomes the
    container's env value when NAME is defined, $$ is a literal $, anything
    else stays as written."""
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def container_env(container):
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        elif "valueFrom" in e and "secretKeyRef" in e["valueFrom"]:
            env[e["name"]] = SECRET
        else:
            raise AssertionError(f"env {e.get('name')}: neither value nor secretKeyRef")
    return env


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    recbias, fake_openai, source = (os.path.abspath(a) for a in sys.argv[1:4])
    docs = []
    for name in ("k8s-audit-job.yaml", "k8s-merge-job.yaml"):
        with open(os.path.join(source, "examples", "scale", name)) as f:
            found = [d for d in yaml.safe_load_all(f) if d is not None]
        assert [d.get("kind") for d in found] == ["Job"], f"{name}: expected one Job, found {[d.get('kind') for d in found]}"
        docs += found
    for d in docs:
        assert d.get("apiVersion") == "batch/v1", f"{d['metadata']['name']}: apiVersion {d.get('apiVersion')}"
        pod = d["spec"]["template"]["spec"]
        assert pod["restartPolicy"] in ("OnFailure", "Never"), f"{d['metadata']['name']}: restartPolicy {pod['restartPolicy']}"
        assert len(pod["containers"]) == 1 and pod["containers"][0]["command"], f"{d['metadata']['name']}: one container with a command"
        mounted = {m["name"] for m in pod["containers"][0].get("volumeMounts", [])}
        declared = {v["name"] for v in pod.get("volumes", [])}
        assert mounted <= declared, f"{d['metadata']['name']}: mounts {mounted - declared} without a volume"
    audit_job, merge_job = docs
    spec = audit_job["spec"]
    assert spec["completionMode"] == "Indexed", "the audit Job must be Indexed (JOB_COMPLETION_INDEX)"
    completions = int(spec["completions"])
    audit = audit_job["spec"]["template"]["spec"]["containers"][0]
    merge = merge_job["spec"]["template"]["spec"]["containers"][0]
    merge_spec = merge_job["spec"]
    # A failing gate (exit 1) or bad input (2) or an inconclusive report (3) is
    # not a transient fault: the merge Job must not retry it.
    assert merge_job["spec"]["template"]["spec"]["restartPolicy"] == "Never" and merge_spec.get("backoffLimit") == 0, \
        "the merge Job must fail on the gate's verdict, not restart it"
    log(f"examples/scale/k8s-*.yaml: 2 Jobs parse; the audit is Indexed with {completions} completions")

    root = tempfile.mkdtemp(prefix="recbias-k8s-")
    server = None
    try:
        data_mount, work_mount = os.path.join(root, "data"), os.path.join(root, "work")
        os.makedirs(work_mount)
        subprocess.run([recbias, "datasets", "synth", "--out", os.path.join(data_mount, "ml-100k"), "--users", "24", "--items", "90",
                        "--seed", "9"], check=True, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(source, "examples", "ci", "policy.toml"), os.path.join(work_mount, "policy.toml"))
        server = subprocess.Popen([fake_openai], stdout=subprocess.PIPE, text=True)
        url = server.stdout.readline().split("listening on ", 1)[1].strip()

        def cluster_paths(arg):
            arg = arg.replace("http://vllm.llm.svc:8000/v1", url)
            arg = re.sub(r"(?<![\w/])/data(?=/|$)", data_mount, arg)
            return re.sub(r"(?<![\w/])/work(?=/|$)", work_mount, arg)

        base_env = {k: v for k, v in os.environ.items() if k not in ("JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID")}
        for index in range(completions):
            env = dict(container_env(audit), JOB_COMPLETION_INDEX=str(index))
            argv = [cluster_paths(expand(a, env)) for a in audit["command"]]
            assert argv[0] == "recbias", f"the audit container runs {argv[0]}"
            r = subprocess.run([recbias] + argv[1:], env={**base_env, **env}, capture_output=True, text=True)
            if r.returncode != 0:
                raise AssertionError(f"pod {index}: {' '.join(argv)} exited {r.returncode}: {r.stderr}")
        parts = sorted(os.listdir(os.path.join(work_mount, "parts")))
        assert parts == sorted(f"part-{i}.json" for i in range(completions)), f"parts: {parts}"
        log(f"ran the audit command of {completions} pods: {' '.join(audit['command'][:3])} ... --shard auto")

        argv = [cluster_paths(expand(a, container_env(merge))) for a in merge["command"]]
        assert argv[:2] == ["sh", "-c"], f"the merge container runs {argv[:2]}"
        shell = argv[2].replace("recbias ", recbias + " ")
        r = subprocess.run(["sh", "-c", shell], env=base_env, capture_output=True, text=True)
        log(f"merge Job command exited {r.returncode}: {r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr}")
        # The gate's verdict on the fake chat model (strong primacy) is a failure (1); 0 also proves the
        # commands ran. 2 (bad input) or anything else is a broken command line.
        if r.returncode not in (0, 1):
            raise AssertionError(f"the merge Job's command exited {r.returncode}: {r.stderr}")
        for f in ("report.json", "report.html"):
            assert os.path.exists(os.path.join(work_mount, f)), f"the merge Job wrote no {f}"

        single = os.path.join(root, "single.json")
        adapter = [a for a in audit["command"] if a.startswith("openai:")][0].replace("http://vllm.llm.svc:8000/v1", url)
        r = subprocess.run([recbias, "audit", "--adapter", adapter, "--dataset", os.path.join(data_mount, "ml-100k"), "--users", "0",
                            "--out", single, "--no-cache"], env={**base_env, **container_env(audit)}, capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(f"the single-machine audit failed: {r.stderr}")
        sys.path.insert(0, os.path.join(source, "scripts"))
        import compare_reports
        import json
        with open(os.path.join(work_mount, "report.json")) as f:
            merged = json.load(f)
        with open(single) as f:
            alone = json.load(f)
        out = compare_reports.differences(merged, alone, ("metrics", "tests", "counts", "state"))
        if out:
            raise AssertionError("the merged report differs from the single run:\n  " + "\n  ".join(out[:20]))
        log(f"merged report of {merged['counts']['base_requests']} users equals the single run (metrics, tests, counts, state)")

        leaked = []
        for folder, _, files in os.walk(root):
            for name in files:
                with open(os.path.join(folder, name), "rb") as f:
                    if SECRET.encode() in f.read():
                        leaked.append(os.path.join(folder, name))
        if leaked:
            raise AssertionError(f"the API key from the secret was written to {leaked}")
        log("the API key appears in no file written (reports, parts, cache, HTML)")
        return 0
    except AssertionError as e:
        log(f"FAILED: {e}")
        return 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=15)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:  # the manifests' own checks, before anything ran
        log(f"FAILED: {e}")
        sys.exit(1)
