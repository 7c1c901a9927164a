"""Checks that libtorch's include paths and definitions reach only the targets
that need them: no translation unit of core/, datasets/, adapters/ (except
the TorchScript adapter), audits/, reports/, serve/, cli/ (except the entry
points of librecbias_torch.so) or the mitigation registry is compiled with
them; and that the `recbias` executable does not link libtorch (it loads
librecbias_torch.so on first use).

usage: check_torch_confined.py COMPILE_COMMANDS.json SOURCE_DIR RECBIAS_EXECUTABLE TORCH_INCLUDE_DIR...
Exit 0 when confined, 1 naming every offending file, flag and library.
"""
import json
import os
import subprocess
import sys


def needed_libraries(executable):
    """The DT_NEEDED entries of an ELF file (readelf, from binutils)."""
    out = subprocess.run(["readelf", "-d", executable], check=True, capture_output=True, text=True).stdout
    return [line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line]


def main():
    commands_path, source_dir, executable, *torch_dirs = sys.argv[1:]
    # Torch's own folders, not the system folder they may sit in (Debian: /usr/include).
    generic = {"/usr/include", "/usr/local/include", "/include"}
    torch_dirs = [os.path.realpath(d) for d in torch_dirs if d and os.path.realpath(d) not in generic]
    if not torch_dirs:
        print("no torch include directories given", file=sys.stderr)
        return 2
    with open(commands_path) as f:
        entries = json.load(f)
    confined = ("core/", "datasets/", "adapters/", "audits/", "reports/", "serve/", "cli/",
                "mitigations/registry.cc", "mitigations/makers.cc")
    allowed = {"adapters/torchscript_recommender.cc", "cli/torch_part_entry.cc"}
    checked, bad = 0, []
    for e in entries:
        rel = os.path.relpath(os.path.realpath(e["file"]), os.path.realpath(source_dir))
        if not rel.startswith(confined) or rel in allowed:
            continue
        checked += 1
        command = e.get("command") or " ".join(e.get("arguments", []))
        for token in command.split():
            for prefix in ("-isystem", "-I"):
                if token.startswith(prefix) and len(token) > len(prefix):
                    token = token[len(prefix):]
            if any(os.path.realpath(token).startswith(d) for d in torch_dirs if os.path.isabs(token)):
                bad.append(f"{rel}: torch include path {token}")
        for flag in ("-DUSE_C10D", "-DUSE_DISTRIBUTED", "-DUSE_RPC", "-DUSE_TENSORPIPE"):
            if flag in command:
                bad.append(f"{rel}: torch definition {flag}")
    for library in needed_libraries(executable):
        if "torch" in library or library.startswith("libc10"):
            bad.append(f"{executable}: links {library} (it must load librecbias_torch.so on first use instead)")
    if checked == 0:
        print(f"no torch-free translation units found in {commands_path}", file=sys.stderr)
        return 2
    for line in bad:
        print(line)
    print(f"{checked} translation units checked; {len(bad)} torch flags found")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
