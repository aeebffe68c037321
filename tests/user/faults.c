/* Bad accesses kill the process with the signal Linux sends, and the
 * parent sees it in wait4()'s status; the kernel and the parent go on. */
#include <sys/mman.h>

#include "ktap.h"

#define PAGE 4096UL

static void read_from(void* addr) { (void)*(volatile char*)addr; }
static void write_to(void* addr) { *(volatile char*)addr = 1; }
static void call(void* addr) { ((void (*)(void))addr)(); }

/* The smallest function body: return. */
#if defined(__riscv)
static const unsigned char ret_insn[] = {0x82, 0x80}; /* c.jr ra (c.ret) */
#elif defined(__x86_64__)
static const unsigned char ret_insn[] = {0xc3};
#else
#error "add the return instruction of this architecture"
#endif

int main(int argc, char** argv) {
  (void)argc;
  ktap_begin("faults", 8);
  char* none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* data = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (!CHECK(none != MAP_FAILED && ro != MAP_FAILED && data != MAP_FAILED)) return ktap_end();
  memcpy(data, ret_insn, sizeof ret_insn);

  ktap_result(CHECK(died_of(run_in_child(read_from, none), SIGSEGV)), "prot_none_read_sigsegv");
  ktap_result(CHECK(died_of(run_in_child(write_to, ro), SIGSEGV)), "write_to_read_only_sigsegv");
  ktap_result(CHECK(died_of(run_in_child(call, data), SIGSEGV)), "exec_from_data_sigsegv");
  ktap_result(CHECK(died_of(run_in_child(write_to, (void*)&main), SIGSEGV)), "write_to_text_sigsegv");
  ktap_result(CHECK(died_of(run_in_child(read_from, NULL), SIGSEGV)), "null_read_sigsegv");

  /* Same code, now executable: it runs and returns. */
  int ok = CHECK(mprotect(data, PAGE, PROT_READ | PROT_EXEC) == 0);
  __builtin___clear_cache(data, data + sizeof ret_insn);
  ok &= CHECK(exited_with(run_in_child(call, data), 0));
  ktap_result(ok, "exec_after_mprotect_exec_runs");

  /* A private file mapping longer than the file: pages wholly past EOF
   * raise SIGBUS (mmap(2)); the page holding EOF reads zero past it. */
  char path[256];
  int fd = open(root_path(argv[0], "etc/hello.txt", path, sizeof path), O_RDONLY);
  ok = CHECK(fd >= 0);
  char* f = ok ? mmap(NULL, 3 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ok &= CHECK(f != MAP_FAILED);
  if (ok) {
    off_t size = lseek(fd, 0, SEEK_END);
    ok &= CHECK(size > 0 && size < (off_t)PAGE) && CHECK(f[size] == 0 && f[0] != 0);
    ok &= CHECK(died_of(run_in_child(read_from, f + 2 * PAGE), SIGBUS));
    munmap(f, 3 * PAGE);
  }
  if (fd >= 0) close(fd);
  ktap_result(ok, "file_mapping_past_eof_sigbus");

  ok = CHECK(died_of(run_in_child(write_to, none + PAGE / 2), SIGSEGV));
  ok &= CHECK(munmap(none, PAGE) == 0 && munmap(ro, PAGE) == 0 && munmap(data, PAGE) == 0);
  ktap_result(ok, "parent_survives_and_unmaps");
  return ktap_end();
}
