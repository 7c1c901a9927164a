#!/usr/bin/env python3
"""The Slurm example (examples/scale/slurm-audit.sh) on a live one-node
cluster: munge, slurmctld and slurmd started here on localhost with a
generated slurm.conf in a temporary folder, the script submitted unchanged as
a 4-task job array with its dependent merge job (the command its header
gives), and the merged report compared with the same audit run on one
machine (metrics, tests, counts, state).

The model is the loopback chat model of tests/fake_llm_server.h
(recbias_fake_openai), reached through the script's VLLM_URL; the dataset is
a small synthetic one (RECBIAS_DATA). Every process this test starts is
stopped by its pid, and the jobs it submitted are cancelled, even when it
fails. Where the daemons cannot start (no Slurm or munge installed, not
root), it exits 77, which CTest reports as skipped with the reason printed.

    slurm_live_test.py RECBIAS FAKE_OPENAI SOURCE_DIR
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
TIMEOUT_S = 300


def log(msg):
    print(msg, flush=True)


def skip(why):
    log(f"SKIPPED: {why}")
    sys.exit(SKIP)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """The daemons and jobs this test started, stopped in reverse order."""

    def __init__(self, root):
        self.root = root
        self.processes = []  # (name, Popen)
        self.jobs = []
        self.env = dict(os.environ)

    def start(self, name, argv, **kw):
        out = open(os.path.join(self.root, f"{name}.out"), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True, **kw)
        self.processes.append((name, p))
        log(f"started {name} (pid {p.pid}): {' '.join(argv)}")
        return p

    def alive(self, name):
        for n, p in self.processes:
            if n == name:
                return p.poll() is None
        return False

    def output(self, name):
        try:
            with open(os.path.join(self.root, f"{name}.out")) as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        for job in self.jobs:
            subprocess.run(["scancel", job], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=20)
        for name, p in reversed(self.processes):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            log(f"stopped {name} (pid {p.pid}, exit {p.returncode})")


def wait_for(what, predicate, timeout, cluster, daemons):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        for d in daemons:
            if not cluster.alive(d):
                raise RuntimeError(f"{d} exited while waiting for {what}:\n{cluster.output(d)}")
        time.sleep(0.5)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def job_state(cluster, job):
    r = subprocess.run(["scontrol", "-o", "show", "job", job], env=cluster.env, capture_output=True, text=True, timeout=20)
    states = [field.split("=", 1)[1] for line in r.stdout.splitlines() for field in line.split() if field.startswith("JobState=")]
    return states


def differences(merged, alone, source):
    """Where the merged and the single-machine report differ in metrics,
    tests, counts and state, ignoring wall-clock latency (as
    scripts/compare_reports.py does) but checking the cost state's other
    sums (calls, tokens, retries, delivered) in every replicate."""
    sys.path.insert(0, os.path.join(source, "scripts"))
    import compare_reports
    out = compare_reports.differences(merged, alone, ("metrics", "tests", "counts", "state"))

    def cost_sums(report):
        cost = report["state"]["accuracy_cost"]["cost"]
        slots = len(cost["totals"])  # the last slot sums latency ms
        return ([v for i, v in enumerate(cost["totals"]) if i % slots != slots - 1],
                [v for i, v in enumerate(cost["replicate_sums"]) if i % slots != slots - 1])

    if cost_sums(merged) != cost_sums(alone):
        out.append("state.accuracy_cost.cost: calls, tokens, retries or delivered differ")
    return out


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    recbias, fake_openai, source = (os.path.abspath(a) for a in sys.argv[1:4])
    missing = [t for t in ("munged", "slurmctld", "slurmd", "sbatch", "scontrol", "scancel") if not shutil.which(t)]
    if missing:
        skip(f"{', '.join(missing)} not installed (Debian packages slurm-wlm and munge; scripts/test.sh installs them)")
    if os.geteuid() != 0:
        skip("slurmd must run as root to start jobs as the submitting user")
    script = os.path.join(source, "examples", "scale", "slurm-audit.sh")
    root = tempfile.mkdtemp(prefix="recbias-slurm-")
    os.chmod(root, 0o700)
    cluster = Cluster(root)
    ok = False
    try:
        # --- munge, with a key of its own and its socket in the folder -------------------
        key = os.path.join(root, "munge.key")
        with open(key, "wb") as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        munge_socket = os.path.join(root, "munge.socket")
        cluster.start("munged", ["munged", "--foreground", "--force", f"--socket={munge_socket}", f"--key-file={key}",
                                 f"--pid-file={root}/munged.pid", f"--log-file={root}/munged.log", f"--seed-file={root}/munged.seed"])
        try:
            wait_for("the munge socket", lambda: os.path.exists(munge_socket), 20, cluster, ["munged"])
        except RuntimeError as e:
            skip(f"munged did not start: {e}")

        # --- slurm.conf for one node on localhost ----------------------------------------
        # The node declares 8 CPUs whatever the machine has (config_overrides),
        # so the example's four 2-CPU tasks run at once, as on a real cluster,
        # instead of one after another; the main scheduling loop runs every
        # second (default 60), so the merge starts as soon as its dependency
        # is met. The jobs themselves are the example's, unchanged.
        host = socket.gethostname().split(".")[0]
        for d in ("state", "spool", "work"):
            os.makedirs(os.path.join(root, d))
        conf = os.path.join(root, "slurm.conf")
        with open(conf, "w") as f:
            f.write(f"""ClusterName=recbiastest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MinJobAge=600
SlurmdParameters=config_overrides
NodeName={host} NodeAddr=127.0.0.1 CPUs=8 RealMemory=4096 State=UNKNOWN
PartitionName=recbias Nodes={host} Default=YES MaxTime=INFINITE State=UP
""")
        cluster.env["SLURM_CONF"] = conf
        cluster.start("slurmctld", ["slurmctld", "-D", "-i", "-f", conf])
        cluster.start("slurmd", ["slurmd", "-D", "-N", host, "-f", conf])

        def node_idle():
            r = subprocess.run(["scontrol", "-o", "show", "node", host], env=cluster.env, capture_output=True, text=True, timeout=20)
            return r.returncode == 0 and "State=IDLE" in r.stdout

        try:
            wait_for("the node to be idle", node_idle, 60, cluster, ["slurmctld", "slurmd"])
        except RuntimeError as e:
            skip(f"the Slurm daemons did not start: {e}\n--- slurmctld.log\n{cluster.output('slurmctld')}\n--- slurmd.log\n"
                 f"{cluster.output('slurmd')}")
        log(f"cluster up: node {host} idle")

        # --- the model and the data ----------------------------------------------------------
        server = cluster.start("fake-openai", [fake_openai])
        wait_for("the model server", lambda: "listening on " in cluster.output("fake-openai"), 30, cluster, ["fake-openai"])
        url = cluster.output("fake-openai").split("listening on ", 1)[1].split()[0]
        data = os.path.join(root, "data")
        subprocess.run([recbias, "datasets", "synth", "--out", data, "--users", "40", "--items", "120", "--seed", "5"], check=True,
                       stdout=subprocess.DEVNULL)
        work = os.path.join(root, "work")
        cluster.env.update({"VLLM_URL": url, "VLLM_MODEL": "fake-chat", "RECBIAS_DATA": data, "RECBIAS_CACHE": os.path.join(root, "cache"),
                            "PATH": os.path.dirname(recbias) + os.pathsep + cluster.env.get("PATH", "")})

        # --- the example, unchanged: a 4-task array, then the merge after it -----------------
        def sbatch(*args):
            r = subprocess.run(["sbatch", "--parsable", f"--chdir={work}", *args], env=cluster.env, capture_output=True, text=True,
                               timeout=30)
            if r.returncode != 0:
                raise RuntimeError(f"sbatch {' '.join(args)} failed ({r.returncode}): {r.stderr}")
            job = r.stdout.strip().split(";")[0]
            cluster.jobs.append(job)
            return job

        array = sbatch("--array=0-3", script)
        merge = sbatch(f"--dependency=afterok:{array}", "--wrap", "recbias merge parts/part-*.json --out report.json --force")
        log(f"submitted array job {array} and merge job {merge}")
        final = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}

        def merged_done():
            states = job_state(cluster, merge)
            if states and states[0] in final:
                return True
            array_states = job_state(cluster, array)
            if any(s in final - {"COMPLETED"} for s in array_states):
                raise RuntimeError(f"array job {array} ended with {array_states}")
            return False

        try:
            wait_for(f"merge job {merge}", merged_done, TIMEOUT_S, cluster, ["slurmctld", "slurmd"])
        finally:
            for name in sorted(os.listdir(work)):
                if name.startswith("slurm-") and name.endswith(".out"):
                    with open(os.path.join(work, name)) as f:
                        log(f"--- {name}\n{f.read()[-3000:]}")
        states = job_state(cluster, array) + job_state(cluster, merge)
        log(f"job states: array {job_state(cluster, array)}, merge {job_state(cluster, merge)}")
        if any(s != "COMPLETED" for s in states):
            raise RuntimeError(f"jobs did not all complete: {states}")
        parts = sorted(os.listdir(os.path.join(work, "parts")))
        if parts != [f"part-{i}.json" for i in range(4)]:
            raise RuntimeError(f"expected parts/part-0..3.json, found {parts}")

        # --- the same audit on one machine ------------------------------------------------
        single = os.path.join(root, "single.json")
        adapter = f"openai:base_url={url},model=fake-chat,in_flight=32"
        r = subprocess.run([recbias, "audit", "--adapter", adapter, "--dataset", data, "--users", "0", "--cache-dir",
                            os.path.join(root, "single-cache"), "--out", single, "--force"], env=cluster.env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"the single-machine audit failed ({r.returncode}): {r.stderr}")
        with open(os.path.join(work, "report.json")) as f:
            merged = json.load(f)
        with open(single) as f:
            alone = json.load(f)
        differing = differences(merged, alone, source)
        if differing:
            raise RuntimeError("the merged report differs from the single-machine run:\n  " + "\n  ".join(differing[:20]))
        shards = merged.get("provenance", {}).get("shard", {})
        log(f"merged report of {merged['counts']['base_requests']} base requests, {merged['counts']['calls']} calls "
            f"(shards: {shards}) equals the single-machine run in metrics, tests, counts and state")
        server.poll()
        ok = True
        return 0
    except RuntimeError as e:
        log(f"FAILED: {e}")
        for name in ("slurmctld.log", "slurmd.log"):
            path = os.path.join(root, name)
            if os.path.exists(path):
                with open(path) as f:
                    log(f"--- {name} (last 40 lines)\n" + "".join(f.readlines()[-40:]))
        return 1
    finally:
        cluster.stop()
        if ok:
            shutil.rmtree(root, ignore_errors=True)
        else:
            log(f"kept {root} for inspection")


if __name__ == "__main__":
    sys.exit(main())
