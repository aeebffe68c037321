# U-Boot boot script for QEMU virt (and any board whose U-Boot sets the
# distro-boot variables).  tools/mkdisk.py replaces @BOOTARGS@ and compiles
# this file with `mkimage -A riscv -T script -C none -d boot.cmd boot.scr`.
#
# Distro boot (U-Boot doc/develop/distro.rst) sets devtype, devnum and
# distro_bootpart to the partition this script was found on.  The kernel is
# the same Linux RISC-V Image QEMU -kernel boots; `booti` relocates it to
# RAM base + text_offset (0x80200000) and enters it with a0 = hartid,
# a1 = the DT.  The DT is U-Boot's own (${fdtcontroladdr}): the one QEMU
# generated, handed over by OpenSBI.

echo "boot.scr: loading Image from ${devtype} ${devnum}:${distro_bootpart}"
setenv bootargs "@BOOTARGS@"
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} Image
if test -e ${devtype} ${devnum}:${distro_bootpart} initramfs.cpio; then
	load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} initramfs.cpio
	echo "boot.scr: booti with initramfs (0x${filesize} bytes), bootargs: ${bootargs}"
	booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
else
	echo "boot.scr: booti without initramfs, bootargs: ${bootargs}"
	booti ${kernel_addr_r} - ${fdtcontroladdr}
fi
echo "boot.scr: booti returned: the Image was rejected"
