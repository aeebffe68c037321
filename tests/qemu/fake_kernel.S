/*
 * Harness self-test kernel: a few instructions behind a Linux RISC-V Image
 * header that print a canned KTAP stream through the SBI legacy console and
 * power QEMU off through the sifive,test0 device.  It proves the harness
 * (qemu_run.py, mkdisk.py, U-Boot booti, serial_ktap.py, the KTAP judge)
 * end to end without depending on the real kernel.
 *
 * FAKE_MODE selects the stream (each failure kind must make the judge fail):
 *   0 pass   clean stream, exit 0
 *   1 notok  one "not ok", exit status 1 ((1 << 16) | 0x3333)
 *   2 panic  clean KTAP, then a panic line, exit 0
 *   3 hang   clean KTAP without totals, then spins forever (timeout)
 *   4 notok-stay  as notok, but stays up like a board (serial_ktap over a pty)
 *
 * Image header layout: Documentation/riscv/boot-image-header.rst.
 * SBI legacy console_putchar: EID 0x01, SBI spec v1.0 chapter 5.
 * sifive,test0: 0x5555 = pass, (code << 16) | 0x3333 = fail (QEMU hw/misc/sifive_test).
 * On sifive_u the test device is not reachable from S-mode (the store takes
 * an access fault), so the trap vector falls back to SBI SRST shutdown
 * (EID 0x53525354, SBI spec v1.0 chapter 10), which carries no status, and
 * to a cold reboot where the firmware has no shutdown device.
 */
#ifndef FAKE_MODE
#define FAKE_MODE 0
#endif

#define SIFIVE_TEST 0x100000
#if FAKE_MODE == 1 || FAKE_MODE == 4
#define SRST_REASON 1	/* system failure */
#else
#define SRST_REASON 0	/* no reason */
#endif

	.section .text
	.option norvc
	.option norelax				/* flat binary straight from the object: no linker */
	.globl _start
_start:
	j	entry				/* code0 */
	.word	0				/* code1 */
	.dword	0x200000			/* text_offset */
	.dword	_end - _start			/* image_size */
	.dword	0				/* flags: little-endian */
	.word	2				/* version 0.2 */
	.word	0				/* res1 */
	.dword	0				/* res2 */
	.ascii	"RISCV\0\0\0"			/* magic (deprecated) */
	.ascii	"RSC\x05"			/* magic2 */
	.word	0				/* res3 */

entry:
	lla	t0, srst_shutdown
	csrw	stvec, t0
	lla	s0, message
1:	lbu	a0, 0(s0)
	beqz	a0, 2f
	li	a7, 1				/* legacy console_putchar */
	ecall
	addi	s0, s0, 1
	j	1b
2:
#if FAKE_MODE == 3 || FAKE_MODE == 4
	.balign	4
srst_shutdown:
3:	wfi
	j	3b
#else
	li	t0, SIFIVE_TEST
#if FAKE_MODE == 1 || FAKE_MODE == 4
	li	t1, (1 << 16) | 0x3333
#else
	li	t1, 0x5555
#endif
	sw	t1, 0(t0)
	/* Not reached when the store powers QEMU off. */
	.balign	4
srst_shutdown:
	li	a7, 0x53525354			/* SRST */
	li	a6, 0				/* system_reset */
	li	a0, 0				/* shutdown */
	li	a1, SRST_REASON
	ecall
	/* OpenSBI 1.1 on sifive_u has no shutdown device, only gpio-restart:
	 * a cold reboot ends QEMU when it runs with -no-reboot. */
	li	a7, 0x53525354
	li	a6, 0
	li	a0, 1				/* cold reboot */
	li	a1, SRST_REASON
	ecall
4:	wfi
	j	4b
#endif

	/* Data stays in .text so that _end - _start is an assembly-time constant. */
message:
	.ascii	"fake kernel: harness self-test image\n"
	.ascii	"KTAP version 1\n"
	.ascii	"1..2\n"
	.ascii	"    KTAP version 1\n"
	.ascii	"    # Subtest: fake_boot\n"
	.ascii	"    1..2\n"
	.ascii	"    ok 1 fake_prints_through_sbi_legacy_console\n"
#if FAKE_MODE == 1 || FAKE_MODE == 4
	.ascii	"    # fake_powers_off_through_sifive_test: EXPECTATION FAILED (canned)\n"
	.ascii	"    not ok 2 fake_powers_off_through_sifive_test\n"
	.ascii	"not ok 1 fake_boot\n"
#else
	.ascii	"    ok 2 fake_powers_off_through_sifive_test\n"
	.ascii	"ok 1 fake_boot\n"
#endif
	.ascii	"    KTAP version 1\n"
	.ascii	"    # Subtest: fake_skip\n"
	.ascii	"    1..1\n"
	.ascii	"    ok 1 fake_skips_cleanly # SKIP canned skip\n"
	.ascii	"ok 2 fake_skip\n"
#if FAKE_MODE == 1 || FAKE_MODE == 4
	.ascii	"# Totals: pass:1 fail:1 skip:1\n"
#elif FAKE_MODE == 2
	.ascii	"# Totals: pass:2 fail:0 skip:1\n"
	.ascii	"Kernel panic - not syncing: fake panic after the totals line\n"
#elif FAKE_MODE == 0
	.ascii	"# Totals: pass:2 fail:0 skip:1\n"
#endif
	.asciz	""
	.balign	8
_end:
