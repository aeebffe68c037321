# U-Boot boot script for the StarFive VisionFive 2 (JH7110), SD card.
# tools/mkdisk.py replaces @BOOTARGS@ and compiles it into boot.scr with
# `mkimage -A riscv -O linux -T script -C none` (docs/boards/visionfive2.md).
#
# The board's U-Boot environment (FACTS.md "VisionFive 2"):
#   kernel_addr_r  0x40200000  = DRAM base + the Image's text_offset, so
#                               booti runs the Image where it was loaded
#   fdt_addr_r     0x46000000
#   ramdisk_addr_r 0x46100000
# Distro boot / bootstd sets devtype, devnum and distro_bootpart to the
# partition this script came from; typed by hand (`load mmc 1:1
# ${scriptaddr} boot.scr; source ${scriptaddr}`) the SD card's first
# partition is assumed (the SD slot is mmc 1, the eMMC mmc 0).
#
# The DT is the board's own (${fdtcontroladdr}: what the firmware and
# U-Boot run on, including the real memory size). `setenv rv_fdtfile
# jh7110-visionfive2-v1.3b-8gb.dtb` (2gb/4gb/8gb) first makes it load the
# project's DTB from dtbs/ instead, for firmware whose DT is poor.

if test -z "${devtype}"; then setenv devtype mmc; fi
if test -z "${devnum}"; then setenv devnum 1; fi
if test -z "${distro_bootpart}"; then setenv distro_bootpart 1; fi
if test -z "${kernel_addr_r}"; then setenv kernel_addr_r 0x40200000; fi
if test -z "${fdt_addr_r}"; then setenv fdt_addr_r 0x46000000; fi
if test -z "${ramdisk_addr_r}"; then setenv ramdisk_addr_r 0x46100000; fi

echo "boot.scr: VisionFive 2, loading Image from ${devtype} ${devnum}:${distro_bootpart}"
setenv bootargs "@BOOTARGS@"
setenv rv_fdt ${fdtcontroladdr}
if test -n "${rv_fdtfile}"; then
	if load ${devtype} ${devnum}:${distro_bootpart} ${fdt_addr_r} dtbs/${rv_fdtfile}; then
		setenv rv_fdt ${fdt_addr_r}
		echo "boot.scr: using dtbs/${rv_fdtfile} instead of the firmware's DT"
	else
		echo "boot.scr: dtbs/${rv_fdtfile} not found, keeping the firmware's DT"
	fi
fi
load ${devtype} ${devnum}:${distro_bootpart} ${kernel_addr_r} Image
if test -e ${devtype} ${devnum}:${distro_bootpart} initramfs.cpio; then
	load ${devtype} ${devnum}:${distro_bootpart} ${ramdisk_addr_r} initramfs.cpio
	echo "boot.scr: booti with initramfs (0x${filesize} bytes), bootargs: ${bootargs}"
	booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${rv_fdt}
else
	echo "boot.scr: booti without initramfs, bootargs: ${bootargs}"
	booti ${kernel_addr_r} - ${rv_fdt}
fi
echo "boot.scr: booti returned: the Image was rejected"
