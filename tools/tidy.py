#!/usr/bin/env python3
"""`make tidy`: clang-tidy (the root .clang-tidy) over the kernel sources.

Each file is checked with the command that really builds it:
  - files the host build compiles (lib/ and the mm/ core, for the unit
    tests) use build/host/compile_commands.json as it is;
  - the rest (arch/, kernel/, drivers/, the kernel-only parts of mm/ ...)
    use build/kernel/compile_commands.json, rewritten for clang: the
    riscv64 target and sysroot, the cross g++'s own libstdc++ headers
    (clang 14 would otherwise pick an unrelated riscv64-unknown-elf GCC),
    -march without the zicsr/zifencei suffixes clang 14 does not parse,
    and no -Werror (clang's extra warnings are reported as findings by
    clang-tidy's clang-diagnostic-* anyway).
The chosen commands are written to build/tidy/compile_commands.json.

    tidy.py [--jobs N] [PATH ...]     PATH: directories or files (default: lib mm)

Prints every finding and a summary; exit status 1 if there is any finding
or a file could not be parsed, 2 on a setup error."""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CROSS_CXX = "riscv64-linux-gnu-g++"
SYSROOT = "/usr/riscv64-linux-gnu"
FINDING = re.compile(r"^(\S+):(\d+):(\d+): (warning|error): (.*) \[([\w.,-]+)\]$")


class SetupError(Exception):
    pass


def load_db(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise SetupError("cannot read %s: %s (run `make kernel host` first)" % (path, e.strerror))


def cross_cxx_include_dirs():
    """The C++ standard library directories of the cross g++ (from `-v`)."""
    if shutil.which(CROSS_CXX) is None:
        raise SetupError("%s not found (Debian package g++-riscv64-linux-gnu)" % CROSS_CXX)
    out = subprocess.run([CROSS_CXX, "-xc++", "-E", "-v", os.devnull], capture_output=True,
                         text=True).stderr
    dirs, inside = [], False
    for line in out.splitlines():
        if line.startswith("#include <...>"):
            inside = True
        elif line.startswith("End of search list"):
            break
        elif inside and "/c++/" in line:
            dirs.append(os.path.normpath(line.strip()))
    if not dirs:
        raise SetupError("cannot find the C++ headers of %s" % CROSS_CXX)
    return dirs


def kernel_args_for_clang(command, cxx_dirs):
    args = shlex.split(command)
    out = ["clang++", "--target=riscv64-linux-gnu", "--sysroot=" + SYSROOT, "-nostdinc++"]
    for d in cxx_dirs:
        out += ["-isystem", d]
    for a in args[1:]:
        if a == "-Werror":
            continue
        if a.startswith("-march="):
            a = re.sub(r"_(zicsr|zifencei)", "", a)
        out.append(a)
    return out + ["-Wno-unknown-warning-option"]


def tracked_sources(paths):
    try:
        files = subprocess.run(["git", "ls-files", "--", *paths], cwd=ROOT, check=True,
                               capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as e:
        raise SetupError("git ls-files failed: %s" % e)
    return sorted(os.path.join(ROOT, f) for f in files if f.endswith(".cpp"))


def choose_commands(files, host_db, kernel_db, cxx_dirs):
    host = {}
    for e in host_db:
        cmd = e.get("command") or shlex.join(e.get("arguments", []))
        if "fuzzer" in cmd:  # libFuzzer builds: same file, odd flags
            continue
        host.setdefault(os.path.normpath(e["file"]), e | {"command": cmd})
    kernel = {os.path.normpath(e["file"]): e for e in kernel_db}
    chosen, skipped = [], []
    for f in files:
        if f in host:
            chosen.append((f, "host", host[f]))
        elif f in kernel:
            e = kernel[f]
            args = kernel_args_for_clang(e.get("command") or shlex.join(e["arguments"]), cxx_dirs)
            chosen.append((f, "kernel", {"directory": e["directory"], "file": e["file"],
                                         "arguments": args}))
        else:
            skipped.append(f)
    return chosen, skipped


def run_one(clang_tidy, db_dir, path):
    p = subprocess.run([clang_tidy, "-p", db_dir, "--quiet", path], capture_output=True,
                       text=True)
    return path, p.returncode, p.stdout, p.stderr


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", default=["lib", "mm"])
    ap.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--clang-tidy", default="clang-tidy-14")
    ap.add_argument("--host-db", default=os.path.join(ROOT, "build/host/compile_commands.json"))
    ap.add_argument("--kernel-db",
                    default=os.path.join(ROOT, "build/kernel/compile_commands.json"))
    ap.add_argument("--out-dir", default=os.path.join(ROOT, "build/tidy"))
    a = ap.parse_args(argv)
    try:
        if shutil.which(a.clang_tidy) is None:
            raise SetupError("%s not found (Debian package clang-tidy-14)" % a.clang_tidy)
        files = tracked_sources(a.paths)
        if not files:
            raise SetupError("no tracked .cpp files under %s" % " ".join(a.paths))
        chosen, skipped = choose_commands(files, load_db(a.host_db), load_db(a.kernel_db),
                                          cross_cxx_include_dirs())
    except SetupError as e:
        print("tidy.py: %s" % e, file=sys.stderr)
        return 2
    os.makedirs(a.out_dir, exist_ok=True)
    with open(os.path.join(a.out_dir, "compile_commands.json"), "w", encoding="utf-8") as f:
        json.dump([e for _, _, e in chosen], f, indent=2)
    for f in skipped:
        print("tidy.py: skipped %s (in neither build)" % os.path.relpath(f, ROOT))
    findings, broken = {}, []
    with concurrent.futures.ThreadPoolExecutor(max(1, a.jobs)) as pool:
        jobs = [pool.submit(run_one, a.clang_tidy, a.out_dir, f) for f, _, _ in chosen]
        for job in concurrent.futures.as_completed(jobs):
            path, status, out, err = job.result()
            seen = False
            for line in out.splitlines():
                m = FINDING.match(line)
                if m:
                    seen = True
                    key = (m.group(1), m.group(2), m.group(3), m.group(6))
                    findings.setdefault(key, line)
            if status != 0 and not seen:
                broken.append((path, (out + err).strip()[-2000:]))
    for key in sorted(findings):
        print(os.path.relpath(findings[key], ROOT) if findings[key].startswith(ROOT)
              else findings[key])
    for path, text in broken:
        print("tidy.py: clang-tidy failed on %s:\n%s" % (os.path.relpath(path, ROOT), text))
    by_check = {}
    for key in findings:
        for check in key[3].split(","):
            if not check.startswith("-warnings-as-errors"):
                by_check[check] = by_check.get(check, 0) + 1
    host_n = sum(1 for _, kind, _ in chosen if kind == "host")
    print("tidy.py: %d files (%d with host commands, %d with kernel commands), %d findings%s"
          % (len(chosen), host_n, len(chosen) - host_n, len(findings),
             "" if not by_check else ": " + ", ".join(
                 "%s %d" % kv for kv in sorted(by_check.items(), key=lambda kv: -kv[1]))))
    return 1 if findings or broken else 0


if __name__ == "__main__":
    sys.exit(main())
