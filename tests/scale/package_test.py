#!/usr/bin/env python3
"""The Debian packages: `cpack -G DEB` in the build folder writes
recbias_<v>_<arch>.deb and librecbias-dev_<v>_<arch>.deb; both are installed
with `dpkg -i` into a scratch root (its own dpkg database; the host's
libraries stand in for the declared dependencies, which are checked by
name); the installed `recbias --version` prints the project's version, an
audit with a mitigation loads the installed libtorch part from
<prefix>/lib/recbias/, and a tiny consumer project builds against the
installed CMake package (find_package(recbias)) and runs.

Nothing outside the scratch folder is written: the runtime package's
postinst calls ldconfig, which runs as a no-op stub here.

    package_test.py BUILD_DIR VERSION
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time


def log(msg):
    print(msg, flush=True)


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


CONSUMER_CMAKE = """cmake_minimum_required(VERSION 3.21)
project(consumer LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(recbias 0.1 REQUIRED)
add_executable(consumer main.cc)
# adapters: its static dependencies (libcurl, cpp-httplib, threads) must resolve through the package
target_link_libraries(consumer PRIVATE recbias::core recbias::adapters)
"""

CONSUMER_MAIN = """#include <cstdio>
#include "core/stats.h"
int main() {
  // 40 of 100 at 95%: Wilson's interval [0.3094, 0.4980].
  const auto ci = recbias::wilson_interval(40, 100, 0.95);
  std::printf("wilson 40/100: [%.4f, %.4f]\\n", ci.lo, ci.hi);
  return ci.lo > 0.309 && ci.lo < 0.310 && ci.hi > 0.497 && ci.hi < 0.499 ? 0 : 1;
}
"""


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    build, version = os.path.abspath(sys.argv[1]), sys.argv[2]
    for tool in ("cpack", "dpkg", "dpkg-deb", "cmake"):
        if not shutil.which(tool):
            print(f"SKIPPED: {tool} not installed")
            return 77
    tmp = tempfile.mkdtemp(prefix="recbias-pkg-")
    try:
        started = time.time()
        out = os.path.join(tmp, "packages")
        run(["cpack", "-G", "DEB", "--config", os.path.join(build, "CPackConfig.cmake"), "-B", out], cwd=build)
        debs = sorted(f for f in os.listdir(out) if f.endswith(".deb"))
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        expected = [f"librecbias-dev_{version}_{arch}.deb", f"recbias_{version}_{arch}.deb"]
        assert debs == expected, f"cpack wrote {debs}, expected {expected}"
        log(f"cpack -G DEB: {', '.join(debs)} in {time.time() - started:.1f} s")

        runtime, dev = (os.path.join(out, d) for d in (expected[1], expected[0]))
        depends = run(["dpkg-deb", "-f", runtime, "Depends"]).stdout
        for lib in ("libtorch", "libfmt", "libcurl", "libssl", "libstdc++6"):
            assert lib in depends, f"recbias.deb Depends lacks {lib}: {depends}"
        dev_depends = run(["dpkg-deb", "-f", dev, "Depends"]).stdout
        for pkg in (f"recbias (= {version})", "libtorch-dev", "nlohmann-json3-dev", "libfmt-dev", "libssl-dev", "libtomlplusplus-dev"):
            assert pkg in dev_depends, f"librecbias-dev.deb Depends lacks {pkg}: {dev_depends}"
        log(f"Depends: {depends.strip()}")

        # A scratch root with its own dpkg database.
        root = os.path.join(tmp, "root")
        admin = os.path.join(root, "var", "lib", "dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d))
        open(os.path.join(admin, "status"), "w").close()
        stubs = os.path.join(tmp, "stubs")
        os.makedirs(stubs)
        for stub in ("ldconfig", "start-stop-daemon"):
            with open(os.path.join(stubs, stub), "w") as f:
                f.write("#!/bin/sh\nexit 0\n")
            os.chmod(os.path.join(stubs, stub), 0o755)
        env = dict(os.environ, PATH=stubs + os.pathsep + os.environ.get("PATH", ""))
        run(["dpkg", f"--root={root}", "--force-depends", "--force-not-root", "--force-script-chrootless", "--log=/dev/null", "-i",
             runtime, dev], env=env)
        status = run(["dpkg-query", f"--admindir={admin}", "-W", "-f", "${Package} ${Version} ${Status}\\n"]).stdout
        for pkg in ("recbias", "librecbias-dev"):
            assert f"{pkg} {version} install ok installed" in status, f"dpkg -i did not install {pkg}:\n{status}"
        log(f"dpkg -i into {root}:\n{status.strip()}")

        exe = os.path.join(root, "usr", "bin", "recbias")
        printed = run([exe, "--version"]).stdout.strip()
        assert version in printed, f"recbias --version printed {printed!r}, expected {version}"
        log(f"installed recbias --version: {printed}")
        data = os.path.join(tmp, "data")
        run([exe, "datasets", "synth", "--out", data, "--users", "8", "--items", "60", "--seed", "2"])
        r = run([exe, "audit", "--adapter", "popularity", "--mitigate", "permutation:m=2", "--dataset", data, "--users", "8",
                 "--candidates", "5", "--audits", "position", "--out", os.path.join(tmp, "a.json")])
        assert os.path.exists(os.path.join(root, "usr", "lib", "recbias", "librecbias_torch.so")), "no installed libtorch part"
        log("installed recbias audit --mitigate permutation:m=2 ran (libtorch part loaded from usr/lib/recbias)")

        consumer = os.path.join(tmp, "consumer")
        os.makedirs(consumer)
        with open(os.path.join(consumer, "CMakeLists.txt"), "w") as f:
            f.write(CONSUMER_CMAKE)
        with open(os.path.join(consumer, "main.cc"), "w") as f:
            f.write(CONSUMER_MAIN)
        run(["cmake", "-S", consumer, "-B", os.path.join(consumer, "build"), f"-DCMAKE_PREFIX_PATH={root}/usr",
             "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", os.path.join(consumer, "build")])
        printed = run([os.path.join(consumer, "build", "consumer")]).stdout.strip()
        log(f"consumer built with find_package(recbias) against the installed package: {printed}")
        log(f"package test done in {time.time() - started:.1f} s")
        return 0
    except AssertionError as e:
        log(f"FAILED: {e}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
