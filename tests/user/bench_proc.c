/* Process and page-fault benchmarks (issue 8, items 1 and 2), run by the
 * kernel's bench cases proc_faults and vma_scaling (kernel/proc/proc_bench.cpp)
 * with `bench=`, never by the user test suite.
 *
 *   bench_proc faults|vmas tiny|normal <icount shift> <window base> <window len>
 *
 * Figures are retired instructions: rdinstret (the kernel grants U-mode
 * access for the run, arch/user_counters.h) under QEMU -icount, where it
 * advances 2^shift per instruction. Each line has the kernel's bench
 * format (kernel/bench.h), which bench/run.py parses:
 *
 *   # bench <name>: <mean> instr/op (min <min>, max <max>, n <n>)
 *
 * Faults are taken in the window the kernel stamps (mm/fault_bench.h):
 * for each one the kernel hands back in t3/t4/t5 the instructions of the
 * 4 KiB fill, and instret at handler entry and exit, so every sample
 * splits into trap entry (user access -> handle_mm_fault), handler
 * (without the fill), fill (clear or copy) and return (handler exit ->
 * the instruction after the access).
 *
 * Output goes through dprintf (unbuffered: a forked child prints nothing
 * twice). Exit status 0 only if every figure was measured; otherwise a
 * "# bench error:" line says what went wrong. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
/* t3 asks the kernel for the stamps (mm/fault_bench.h kRequest). */
#define STAMP_REQUEST 0x544c46504d415453ull

static unsigned g_shift;
static int g_tiny;
static uint64_t g_base, g_len;
static uint64_t g_overhead; /* counter reads around one present-page access */
static int g_errors;

static inline uint64_t instret(void) {
  uint64_t v;
  __asm__ volatile("rdinstret %0" : "=r"(v));
  return v;
}

__attribute__((format(printf, 1, 2))) static void error(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  dprintf(1, "# bench error: bench_proc: %s\n", buf);
  ++g_errors;
}

static uint64_t iters(uint64_t normal) { return g_tiny && normal > 4 ? 4 : normal; }

/* ---- per-operation statistics ------------------------------------------ */

struct stats {
  uint64_t total, min, max, n;
};

static void stats_add(struct stats* s, uint64_t v) {
  if (s->n == 0 || v < s->min) s->min = v;
  if (v > s->max) s->max = v;
  s->total += v;
  ++s->n;
}

/* Values are raw counter deltas: shifted down to instructions here. */
static void report(const char* name, const struct stats* s) {
  if (s->n == 0) {
    error("%s: no samples", name);
    return;
  }
  const uint64_t mean_x10 = ((s->total >> g_shift) * 10 + s->n / 2) / s->n;
  dprintf(1, "# bench %s: %llu.%llu instr/op (min %llu, max %llu, n %llu)\n", name,
          (unsigned long long)(mean_x10 / 10), (unsigned long long)(mean_x10 % 10),
          (unsigned long long)(s->min >> g_shift), (unsigned long long)(s->max >> g_shift),
          (unsigned long long)s->n);
}

/* ---- one stamped access ------------------------------------------------ */

struct fault {
  uint64_t total, entry, handler, fill, ret;
};

/* Writes (or reads) *p between two counter reads. t3 holds the request,
 * t4-t5 start at 0; a stamped fault leaves fill, handler entry and
 * handler exit in t3-t5 (mm/fault_bench.h). Returns 1 if a stamped fault
 * happened, -1 if the stamps make no sense. */
static int timed_access(volatile uint64_t* p, int write, struct fault* f) {
  register uint64_t t3 __asm__("t3") = STAMP_REQUEST;
  register uint64_t t4 __asm__("t4") = 0;
  register uint64_t t5 __asm__("t5") = 0;
  uint64_t a, b, tmp;
  if (write)
    __asm__ volatile("rdinstret %[a]\n\tsd zero, 0(%[p])\n\trdinstret %[b]"
                     : [a] "=&r"(a), [b] "=&r"(b), "+r"(t3), "+r"(t4), "+r"(t5)
                     : [p] "r"(p)
                     : "memory");
  else
    __asm__ volatile("rdinstret %[a]\n\tld %[tmp], 0(%[p])\n\trdinstret %[b]"
                     : [a] "=&r"(a), [b] "=&r"(b), [tmp] "=&r"(tmp), "+r"(t3), "+r"(t4), "+r"(t5)
                     : [p] "r"(p)
                     : "memory");
  if (t5 == 0) return 0;
  /* Sanity: the stamps lie between the user's two readings. */
  if (t4 < a || t5 < t4 || b < t5 || t3 > t5 - t4) return -1;
  f->total = b - a > g_overhead ? b - a - g_overhead : 0;
  f->entry = t4 - a;
  f->fill = t3;
  f->handler = t5 - t4 - t3;
  f->ret = b - t5;
  return 1;
}

static void calibrate(void) {
  static volatile uint64_t present;
  present = 1;
  g_overhead = ~0ull;
  for (int i = 0; i < 64; ++i) {
    register uint64_t t5 __asm__("t5") = 0;
    uint64_t a, b;
    __asm__ volatile("rdinstret %[a]\n\tsd zero, 0(%[p])\n\trdinstret %[b]"
                     : [a] "=&r"(a), [b] "=&r"(b), "+r"(t5)
                     : [p] "r"(&present)
                     : "memory");
    if (b - a < g_overhead) g_overhead = b - a;
  }
}

struct fault_stats {
  struct stats total, entry, handler, fill, ret, no_fill;
};

static int fault_sample(struct fault_stats* fs, volatile uint64_t* p, int write,
                        const char* what) {
  struct fault f;
  const int r = timed_access(p, write, &f);
  if (r <= 0) {
    error("%s: %s at %p", what, r == 0 ? "no stamped fault" : "stamps out of order", (void*)p);
    return 0;
  }
  stats_add(&fs->total, f.total);
  stats_add(&fs->entry, f.entry);
  stats_add(&fs->handler, f.handler);
  stats_add(&fs->fill, f.fill);
  stats_add(&fs->ret, f.ret);
  stats_add(&fs->no_fill, f.total > f.fill ? f.total - f.fill : 0);
  return 1;
}

/* <name>, <name>_entry, _handler, _<fill>, _return, _excl_<fill>. */
static void report_fault(const char* name, const char* fill, const struct fault_stats* fs) {
  char n[64];
  report(name, &fs->total);
  snprintf(n, sizeof n, "%s_entry", name);
  report(n, &fs->entry);
  snprintf(n, sizeof n, "%s_handler", name);
  report(n, &fs->handler);
  snprintf(n, sizeof n, "%s_%s", name, fill);
  report(n, &fs->fill);
  snprintf(n, sizeof n, "%s_return", name);
  report(n, &fs->ret);
  snprintf(n, sizeof n, "%s_excl_%s", name, fill);
  report(n, &fs->no_fill);
}

static void* map_at(uint64_t off, uint64_t len, int prot, int flags, int fd) {
  if (off + len > g_len) {
    error("window too small for %llu bytes at +%llu", (unsigned long long)len,
          (unsigned long long)off);
    return NULL;
  }
  void* want = (void*)(uintptr_t)(g_base + off);
  void* p = mmap(want, len, prot, flags | MAP_FIXED, fd, 0);
  if (p != want) {
    error("mmap at %p (%llu bytes): %s", want, (unsigned long long)len, strerror(errno));
    return NULL;
  }
  return p;
}

/* ---- faults ------------------------------------------------------------ */

/* First write to an anonymous page: zero page allocated and cleared. */
static void bench_anon_fault(void) {
  const uint64_t n = iters(1000);
  char* m = map_at(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  if (!m) return;
  struct fault_stats fs = {0};
  for (uint64_t i = 0; i < n; ++i)
    if (!fault_sample(&fs, (volatile uint64_t*)(m + i * PAGE), 1, "fault_anon")) break;
  report_fault("fault_anon", "clear", &fs);
  munmap(m, n * PAGE);
}

/* A private mapping of this program's file: a read fault copies the page
 * and maps the rest of its 64 KiB window (fault-around); a write fault
 * copies one page, no fault-around. */
static void bench_file_fault(const char* self) {
  const int fd = open(self, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    error("open %s: %s", self, strerror(errno));
    if (fd >= 0) close(fd);
    return;
  }
  const uint64_t size = (uint64_t)st.st_size & ~(PAGE - 1); /* whole pages only */
  const uint64_t off = 1ull << 30;
  struct fault_stats rd = {0}, wr = {0};
  char* m = map_at(off, size, PROT_READ, MAP_PRIVATE, fd);
  if (m) {
    const uint64_t step = 64 * 1024; /* one fault per fault-around window */
    for (uint64_t at = 0, i = 0; at < size && i < iters(1000); at += step, ++i)
      if (!fault_sample(&rd, (volatile uint64_t*)(m + at), 0, "fault_file_read")) break;
    munmap(m, size);
  }
  m = map_at(off, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
  if (m) {
    for (uint64_t at = 0, i = 0; at < size && i < iters(1000); at += PAGE, ++i)
      if (!fault_sample(&wr, (volatile uint64_t*)(m + at), 1, "fault_file_write")) break;
    munmap(m, size);
  }
  close(fd);
  report_fault("fault_file_read", "copy", &rd);
  report_fault("fault_file_write", "copy", &wr);
}

/* Write to a page shared with a live child after fork: the page is
 * copied (the child keeps the original). */
static void bench_cow_fault(void) {
  const uint64_t n = iters(500);
  const uint64_t off = 2ull << 30;
  char* m = map_at(off, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  if (!m) return;
  for (uint64_t i = 0; i < n; ++i) m[i * PAGE] = 1;
  int go[2];
  if (pipe(go) != 0) {
    error("pipe: %s", strerror(errno));
    return;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(go[1]);
    _exit(read(go[0], &c, 1) == 0 ? 0 : 1); /* until the parent closes its end */
  }
  close(go[0]);
  struct fault_stats fs = {0};
  if (pid < 0) {
    error("fork: %s", strerror(errno));
  } else {
    for (uint64_t i = 0; i < n; ++i)
      if (!fault_sample(&fs, (volatile uint64_t*)(m + i * PAGE), 1, "fault_cow")) break;
  }
  close(go[1]);
  int status = 0;
  if (pid > 0 && (waitpid(pid, &status, 0) != pid || status != 0))
    error("cow child: wait status %#x", status);
  report_fault("fault_cow", "copy", &fs);
  munmap(m, n * PAGE);
}

/* ---- process and mapping operations ----------------------------------- */

static void bench_fork(void) {
  struct stats s = {0};
  for (uint64_t i = 0; i < iters(200); ++i) {
    const uint64_t t0 = instret();
    const pid_t pid = fork();
    if (pid == 0) _exit(0);
    int status = -1;
    const pid_t w = pid > 0 ? waitpid(pid, &status, 0) : -1;
    const uint64_t t1 = instret();
    if (pid < 0 || w != pid || status != 0) {
      error("fork_exit_wait: fork %d wait %d status %#x", pid, w, status);
      return;
    }
    stats_add(&s, t1 - t0);
  }
  report("fork_exit_wait", &s);
}

static void bench_mmap(void) {
  struct stats s = {0};
  for (uint64_t i = 0; i < iters(1000); ++i) {
    const uint64_t t0 = instret();
    void* p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    const int r = p == MAP_FAILED ? -1 : munmap(p, PAGE);
    const uint64_t t1 = instret();
    if (r != 0) {
      error("mmap_munmap_1page: %s", strerror(errno));
      return;
    }
    stats_add(&s, t1 - t0);
  }
  report("mmap_munmap_1page", &s);
}

/* ---- fault cost against the number of VMAs ----------------------------- */

/* One-page VMAs, alternately read-write and read-only so that no two
 * merge, laid out upwards from the window base; at each count the fault
 * cost is measured on distinct read-write VMAs in a scattered order (so
 * the one-entry lookup cache misses and find_vma descends the tree), each
 * round's pages given back with MADV_DONTNEED. The read-only VMAs are
 * read once (the zero page is mapped) and the first page of the window
 * is a populated read-write-exec VMA: the page tables never empty, so no
 * sample pays for a page-table page that a zap pruned. */
static void* vma_page(uint64_t i) { return (void*)(uintptr_t)(g_base + (i + 1) * PAGE); }

static void bench_vmas(void) {
  static const uint64_t counts[] = {1, 10, 100, 1000, 10000};
  const uint64_t max = g_tiny ? 100 : 10000;
  const uint64_t samples = g_tiny ? 4 : 64;
  volatile char* pin =
      map_at(0, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  if (!pin) return;
  *pin = 1;
  uint64_t mapped = 0;
  char name[48];
  for (unsigned c = 0; c < sizeof counts / sizeof counts[0] && counts[c] <= max; ++c) {
    const uint64_t n = counts[c];
    for (; mapped < n; ++mapped) {
      const int prot = mapped % 2 ? PROT_READ : PROT_READ | PROT_WRITE;
      volatile char* p = map_at((mapped + 1) * PAGE, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1);
      if (!p) return;
      if (mapped % 2) (void)*p;
    }
    const uint64_t rw = (n + 1) / 2; /* even indices */
    /* A stride coprime with rw visits distinct VMAs, scattered. */
    uint64_t stride = rw > 2 ? (rw * 5) / 8 + 1 : 1;
    for (;; ++stride) {
      uint64_t a = stride, b = rw;
      while (b) {
        const uint64_t t = a % b;
        a = b;
        b = t;
      }
      if (a == 1) break;
    }
    struct fault_stats fs = {0};
    for (uint64_t taken = 0; taken < samples;) {
      const uint64_t round = samples - taken < rw ? samples - taken : rw;
      for (uint64_t i = 0; i < round; ++i)
        if (!fault_sample(&fs, vma_page(2 * ((i * stride) % rw)), 1, "fault_vmas")) return;
      for (uint64_t i = 0; i < round; ++i)
        if (madvise(vma_page(2 * ((i * stride) % rw)), PAGE, MADV_DONTNEED) != 0) {
          error("madvise: %s", strerror(errno));
          return;
        }
      taken += round;
    }
    snprintf(name, sizeof name, "fault_vmas_%llu", (unsigned long long)n);
    report(name, &fs.total);
    snprintf(name, sizeof name, "fault_vmas_%llu_handler", (unsigned long long)n);
    report(name, &fs.handler);
  }
  munmap((void*)(uintptr_t)g_base, (mapped + 1) * PAGE);
}

int main(int argc, char** argv) {
  if (argc != 6) {
    dprintf(1, "# bench error: usage: bench_proc faults|vmas tiny|normal shift base len\n");
    return 2;
  }
  g_tiny = strcmp(argv[2], "tiny") == 0;
  g_shift = (unsigned)strtoul(argv[3], NULL, 0);
  g_base = strtoull(argv[4], NULL, 0);
  g_len = strtoull(argv[5], NULL, 0);
  if (g_shift > 16 || g_base % PAGE || g_len < (4ull << 30)) {
    dprintf(1, "# bench error: bench_proc: bad arguments\n");
    return 2;
  }
  calibrate();
  if (strcmp(argv[1], "faults") == 0) {
    bench_anon_fault();
    bench_file_fault(argv[0]);
    bench_cow_fault();
    bench_fork();
    bench_mmap();
  } else if (strcmp(argv[1], "vmas") == 0) {
    bench_vmas();
  } else {
    dprintf(1, "# bench error: bench_proc: unknown mode %s\n", argv[1]);
    return 2;
  }
  return g_errors ? 1 : 0;
}
