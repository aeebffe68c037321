#!/bin/sh
# Regenerates the devicetree blobs used by the FDT host tests and the fuzz
# seed corpus. Needs qemu-system-riscv64 (QEMU 7.2 produced the checked-in
# files) and dtc.
#   tests/data/dtb/regen.sh
set -eu
cd "$(dirname "$0")"
QEMU=${QEMU:-qemu-system-riscv64}

# QEMU writes the blob into a 1 MiB zero-padded file; keep only the
# header's totalsize bytes (the blob itself is unchanged).
dump() {
  out=$1
  shift
  "$QEMU" -nographic -bios none "$@" >/dev/null 2>&1
  total=$(od -An -tu1 -j4 -N4 "$out" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
  head -c "$total" "$out" >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "wrote $out ($total bytes)"
}

# QEMU virt, one hart, 512 MiB.
dump virt-1hart-512m.dtb -machine virt,dumpdtb=virt-1hart-512m.dtb -smp 1 -m 512M

# QEMU virt, 4 harts, 6 GiB over two NUMA nodes (FACTS.md).
dump virt-4hart-6g-numa.dtb -machine virt,dumpdtb=virt-4hart-6g-numa.dtb -smp 4 -m 6G \
  -object memory-backend-ram,id=m0,size=3G -object memory-backend-ram,id=m1,size=3G \
  -numa node,nodeid=0,cpus=0-1,memdev=m0 -numa node,nodeid=1,cpus=2-3,memdev=m1 \
  -numa dist,src=0,dst=1,val=20

# SiFive FU540 (hart 0 is an E51 without MMU), 5 harts, 1 GiB.
dump sifive_u-5hart-1g.dtb -machine sifive_u,dumpdtb=sifive_u-5hart-1g.dtb -smp 5 -m 1G

# Hand-written fixture: /reserved-memory, /chosen, aliases, nested buses
# with ranges and dma-ranges, odd cpus.
dtc -q -I dts -O dtb -o reserved.dtb reserved.dts
echo "wrote reserved.dtb ($(wc -c <reserved.dtb) bytes)"

# VisionFive 2 v1.3B (JH7110), 2/4/8 GB: the project's own DTS, written from
# public facts (board/visionfive2/dts). tests/host/boards.cmake checks that
# these blobs are what the sources compile to.
for gb in 2 4 8; do
  dtc -q -I dts -O dtb -o "visionfive2-v1.3b-${gb}gb.dtb" \
    "../../../board/visionfive2/dts/jh7110-visionfive2-v1.3b-${gb}gb.dts"
  echo "wrote visionfive2-v1.3b-${gb}gb.dtb ($(wc -c <"visionfive2-v1.3b-${gb}gb.dtb") bytes)"
done
