#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and `make run` need.
# CI and new machines start bare: the build installs what is missing rather
# than assuming it. As root it runs apt-get; otherwise it prints the exact
# command and fails.
set -euo pipefail

PKGS=(
  make cmake ninja-build g++ python3 python3-serial
  g++-riscv64-linux-gnu gcc-riscv64-unknown-elf binutils-riscv64-linux-gnu
  qemu-system-misc opensbi u-boot-qemu u-boot-tools
  libgtest-dev libfdt-dev device-tree-compiler
  clang lld libclang-rt-14-dev clang-format clang-tidy
  mtools dosfstools gdb-multiarch cpio
  valgrind libjemalloc-dev libmimalloc-dev python3-matplotlib
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Run as root:  $cmd" >&2
  exit 1
fi
echo "Installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
