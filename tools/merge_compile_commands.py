#!/usr/bin/env python3
"""Merges compilation databases (compile_commands.json of the kernel and
the host build) into one for clangd, clang-tidy and editors:

    merge_compile_commands.py build/kernel/compile_commands.json \\
        build/host/compile_commands.json > compile_commands.json

Entries keep the order of the inputs, so for a file built in both trees
(lib/, mm/) the first database's entry comes first, and tools that use the
first match (clangd) see the kernel's cross-compile command; the host
entries of those files stay in the output for tools that want every
command.  Exact duplicates (same file, directory and command, e.g. a
source in several host test executables) are kept once.  A missing or
malformed input is an error (exit 1) naming the file, never a silently
short database."""

import json
import sys


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise SystemExit("merge_compile_commands.py: cannot read %s: %s (build it first: "
                         "make kernel host)" % (path, e.strerror))
    except json.JSONDecodeError as e:
        raise SystemExit("merge_compile_commands.py: %s is not valid JSON: %s" % (path, e))
    if not isinstance(data, list):
        raise SystemExit("merge_compile_commands.py: %s: expected a JSON array of entries" % path)
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not {"directory", "file"} <= entry.keys() or \
                not ("command" in entry or "arguments" in entry):
            raise SystemExit("merge_compile_commands.py: %s: entry %d lacks directory, file "
                             "and command/arguments" % (path, i))
    return data


def merge(databases):
    seen, out = set(), []
    for db in databases:
        for entry in db:
            key = (entry["directory"], entry["file"],
                   entry.get("command") or json.dumps(entry.get("arguments")))
            if key not in seen:
                seen.add(key)
                out.append(entry)
    return out


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    json.dump(merge([load(p) for p in argv[1:]]), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
