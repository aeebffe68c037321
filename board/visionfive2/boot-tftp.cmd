# U-Boot boot script for the VisionFive 2 over the network: the boot.scr of
# the TFTP directory that `make image BOARD=visionfive2` writes
# (build/tftp-visionfive2/). tools/mkdisk.py replaces @BOOTARGS@ and drops
# the @INITRD@ lines when there is no initramfs.
#
#   dhcp                 (or: setenv ipaddr ...; setenv serverip ...)
#   tftpboot ${scriptaddr} boot.scr; source ${scriptaddr}
#
# Addresses: the board's U-Boot environment (see boot.cmd); the DT is the
# board's own (${fdtcontroladdr}).

if test -z "${kernel_addr_r}"; then setenv kernel_addr_r 0x40200000; fi
if test -z "${ramdisk_addr_r}"; then setenv ramdisk_addr_r 0x46100000; fi
echo "boot.scr: VisionFive 2, loading Image from TFTP server ${serverip}"
setenv bootargs "@BOOTARGS@"
tftpboot ${kernel_addr_r} Image
setenv rv_initrd
setenv rv_initrd @INITRD@
if test -n "${rv_initrd}"; then
	tftpboot ${ramdisk_addr_r} ${rv_initrd}
	echo "boot.scr: booti with initramfs (0x${filesize} bytes), bootargs: ${bootargs}"
	booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
else
	echo "boot.scr: booti without initramfs, bootargs: ${bootargs}"
	booti ${kernel_addr_r} - ${fdtcontroladdr}
fi
echo "boot.scr: booti returned: the Image was rejected"
