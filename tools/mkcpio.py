#!/usr/bin/env python3
"""Builds a cpio "newc" archive (the initramfs format) from a directory.

The output is deterministic: entries sorted by path, every mtime 0, uid and
gid 0, inode numbers assigned in order, permissions reduced to 0755 (dirs and
executables) or 0644 (other files), symlinks kept as links. Only the Python
standard library is used, so the build needs no cpio package.

Format: cpio(5) "New ASCII Format" and Linux
Documentation/driver-api/early-userspace/buffer-format.rst: a 110-byte
header of ASCII-hex fields, the NUL-terminated name padded to 4 bytes, the
data padded to 4 bytes, and a final "TRAILER!!!" entry; the archive is padded
to a multiple of 512 bytes as cpio(1) does.

    tools/mkcpio.py --root build/user-root --out build/initramfs.cpio
    tools/mkcpio.py --root DIR --out FILE --crc     # 070702 with checksums
"""

import argparse
import os
import stat
import sys

S_IFDIR = 0o040000
S_IFREG = 0o100000
S_IFLNK = 0o120000


def header(magic, ino, mode, nlink, filesize, namesize, check):
    fields = [ino, mode, 0, 0, nlink, 0, filesize, 0, 0, 0, 0, namesize, check]
    return (magic + "".join("%08x" % f for f in fields)).encode("ascii")


def pad4(n):
    return (4 - n % 4) % 4


def entry(magic, ino, mode, nlink, name, data):
    name_b = name.encode("utf-8") + b"\0"
    check = sum(data) & 0xFFFFFFFF if magic == "070702" else 0
    out = header(magic, ino, mode, nlink, len(data), len(name_b), check) + name_b
    out += b"\0" * pad4(len(out))
    out += data + b"\0" * pad4(len(data))
    return out


def collect(root):
    """(archive name, lstat, absolute path) for everything under root, sorted."""
    items = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in dirnames + sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            items.append((rel, os.lstat(path), path))
    items.sort(key=lambda t: t[0])
    return items


def build(root, crc=False):
    magic = "070702" if crc else "070701"
    out = bytearray()
    ino = 1
    for rel, st, path in collect(root):
        if stat.S_ISDIR(st.st_mode):
            mode, nlink, data = S_IFDIR | 0o755, 2, b""
        elif stat.S_ISLNK(st.st_mode):
            mode, nlink, data = S_IFLNK | 0o777, 1, os.readlink(path).encode("utf-8")
        elif stat.S_ISREG(st.st_mode):
            perm = 0o755 if st.st_mode & 0o111 else 0o644
            with open(path, "rb") as f:
                mode, nlink, data = S_IFREG | perm, 1, f.read()
        else:
            raise SystemExit(f"mkcpio: {path}: only directories, files and symlinks are supported")
        if len(data) > 0xFFFFFFFF:
            raise SystemExit(f"mkcpio: {path}: larger than newc's 4 GiB limit")
        out += entry(magic, ino, mode, nlink, rel, data)
        ino += 1
    out += entry(magic, 0, 0, 1, "TRAILER!!!", b"")
    out += b"\0" * ((512 - len(out) % 512) % 512)
    return bytes(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", required=True, help="directory whose contents become /")
    ap.add_argument("--out", required=True, help="archive to write")
    ap.add_argument("--crc", action="store_true", help="070702 format with data checksums")
    args = ap.parse_args(argv)
    if not os.path.isdir(args.root):
        raise SystemExit(f"mkcpio: {args.root} is not a directory")
    data = build(args.root, args.crc)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
