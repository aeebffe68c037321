#!/usr/bin/env python3
"""ctest `format_check`: every tracked C++ file (git ls-files '*.cpp' '*.h',
the set `make format` rewrites) must already be formatted by the root
.clang-format.  Lists each misformatted file with its first offending line
and says how to fix it; exit 1 if any, 2 on a setup error."""

import argparse
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BATCH = 64
WHERE = re.compile(r"^(.+?):(\d+):(\d+): (?:error|warning): code should be clang-formatted")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clang-format", default="clang-format")
    ap.add_argument("--root", default=ROOT)
    a = ap.parse_args()
    if shutil.which(a.clang_format) is None:
        print("format_check: %s not found (Debian package clang-format)" % a.clang_format)
        return 2
    try:
        files = subprocess.run(["git", "ls-files", "*.cpp", "*.h"], cwd=a.root, check=True,
                               capture_output=True, text=True).stdout.split()
    except (OSError, subprocess.CalledProcessError) as e:
        print("format_check: git ls-files failed: %s" % e)
        return 2
    files = [f for f in files if os.path.isfile(os.path.join(a.root, f))]  # deleted, not committed
    bad = {}
    for i in range(0, len(files), BATCH):
        batch = files[i:i + BATCH]
        p = subprocess.run([a.clang_format, "--dry-run", "--Werror", *batch], cwd=a.root,
                           capture_output=True, text=True)
        if p.returncode == 0:
            continue
        for line in p.stderr.splitlines():
            m = WHERE.match(line)
            if m:
                bad.setdefault(m.group(1), m.group(2))
        if not bad and p.returncode:
            print("format_check: %s failed:\n%s" % (a.clang_format, p.stderr[-2000:]))
            return 2
    if bad:
        print("format_check: %d of %d files are not clang-formatted (.clang-format):"
              % (len(bad), len(files)))
        for f in sorted(bad):
            print("  %s (first difference at line %s)" % (f, bad[f]))
        print("Fix: `make format` (or clang-format -i FILE); see the diff with "
              "`clang-format FILE | diff FILE -`.")
        return 1
    print("format_check: %d files, all clang-formatted" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
