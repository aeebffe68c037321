/* An ET_DYN static-pie program: the kernel picks a load bias, and the
 * program relocates itself from its R_RISCV_RELATIVE entries, then checks
 * that the auxv the kernel built agrees with where it really runs.
 *
 * Built without glibc: Debian's riscv64 glibc 2.36 has no static-pie
 * support (no rcrt1.o, no _dl_relocate_static_pie), so this is the
 * self-relocation glibc's rcrt1 would do, in ~20 lines. Until the
 * relocations are applied, only PC-relative addressing may be used:
 * everything is hidden (-fvisibility=hidden) so the compiler emits lla,
 * never a GOT load. */
#include <elf.h>
#include <stdint.h>

#define NR_WRITE 64       /* asm-generic/unistd.h */
#define NR_EXIT_GROUP 94

static long sys3(long n, long a, long b, long c) {
  register long a0 __asm__("a0") = a;
  register long a1 __asm__("a1") = b;
  register long a2 __asm__("a2") = c;
  register long a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

static unsigned long slen(const char* s) {
  unsigned long n = 0;
  while (s[n]) ++n;
  return n;
}

static void put(const char* s) { sys3(NR_WRITE, 1, (long)s, (long)slen(s)); }

static const char s_ok[] = "ok";
static const char s_not_ok[] = "not ok";
/* Pointers in data: each needs an R_RISCV_RELATIVE relocation. */
static const char* const verdicts[2] = {s_not_ok, s_ok};
static char bss_area[8192];
static int data_word = 0x1234;

static int failures, count;

static void result(int ok, const char* name) {
  static const char* digits = "0123456789";
  char num[4];
  ++count;
  num[0] = digits[count / 10 % 10];
  num[1] = digits[count % 10];
  num[2] = ' ';
  num[3] = 0;
  if (!ok) ++failures;
  put("    ");
  put(verdicts[ok ? 1 : 0]);
  put(" ");
  put(count >= 10 ? num : num + 1);
  put(name);
  put("\n");
}

extern char _start[];

__attribute__((used)) void start_c(long* sp, Elf64_Dyn* dyn, unsigned char* base) {
  long argc = sp[0];
  char** argv = (char**)(sp + 1);
  char** envp = argv + argc + 1;
  char** e = envp;
  while (*e) ++e;
  Elf64_auxv_t* auxv = (Elf64_auxv_t*)(e + 1);

  /* Self-relocation (RISC-V psABI "Relocations": R_RISCV_RELATIVE = B + A). */
  uint64_t rela = 0, relasz = 0, relaent = sizeof(Elf64_Rela);
  for (Elf64_Dyn* d = dyn; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == DT_RELA) rela = d->d_un.d_ptr;
    if (d->d_tag == DT_RELASZ) relasz = d->d_un.d_val;
    if (d->d_tag == DT_RELAENT) relaent = d->d_un.d_val;
  }
  int bad_reloc = 0;
  for (uint64_t off = 0; rela && off < relasz; off += relaent) {
    const Elf64_Rela* r = (const Elf64_Rela*)(base + rela + off);
    if (ELF64_R_TYPE(r->r_info) == R_RISCV_RELATIVE)
      *(uint64_t*)(base + r->r_offset) = (uint64_t)base + r->r_addend;
    else
      bad_reloc = 1;
  }

  put("    KTAP version 1\n    # Subtest: static_pie\n    1..6\n");
  result(!bad_reloc && verdicts[1] == s_ok && verdicts[0] == s_not_ok, "relocations_applied");
  result(base != 0 && ((uint64_t)base & 4095) == 0, "loaded_at_a_page_aligned_bias");
  uint64_t phdr = 0, entry = 0, pagesz = 0, phent = 0, phnum = 0;
  for (Elf64_auxv_t* a = auxv; a->a_type != AT_NULL; ++a) {
    if (a->a_type == AT_PHDR) phdr = a->a_un.a_val;
    if (a->a_type == AT_ENTRY) entry = a->a_un.a_val;
    if (a->a_type == AT_PAGESZ) pagesz = a->a_un.a_val;
    if (a->a_type == AT_PHENT) phent = a->a_un.a_val;
    if (a->a_type == AT_PHNUM) phnum = a->a_un.a_val;
  }
  const Elf64_Ehdr* eh = (const Elf64_Ehdr*)base;
  result(phdr == (uint64_t)base + eh->e_phoff && phent == sizeof(Elf64_Phdr) && phnum == eh->e_phnum,
         "at_phdr_points_at_the_mapped_headers");
  result(entry == (uint64_t)_start && pagesz == 4096, "at_entry_is_the_biased_entry");
  int zero = 1;
  for (unsigned i = 0; i < sizeof bss_area; ++i) zero &= bss_area[i] == 0;
  bss_area[4000] = 1;
  result(zero && bss_area[4000] == 1, "bss_zero_and_writable");
  data_word += 1;
  result(data_word == 0x1235 && argc >= 1 && argv[0] != 0, "data_writable_and_argv_present");
  sys3(NR_EXIT_GROUP, failures ? 1 : 0, 0, 0);
  for (;;) {
  }
}

/* Entry: a0 = initial sp (argc, argv, envp, auxv), a1 = &_DYNAMIC and
 * a2 = the ELF header (load bias), both PC-relative. */
__asm__(
    ".section .text._start,\"ax\",@progbits\n"
    ".globl _start\n"
    ".type _start,@function\n"
    "_start:\n"
    ".option push\n"
    ".option norelax\n"
    "  mv a0, sp\n"
    "  lla a1, _DYNAMIC\n"
    "  lla a2, __ehdr_start\n"
    "  andi sp, sp, -16\n"
    "  call start_c\n"
    ".option pop\n");
