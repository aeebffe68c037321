// Host allocator comparison (issue 8, item 3): one deterministic
// allocation trace replayed through this kernel's allocators compiled for
// the host (kmalloc/kfree over the slab caches, alloc_pages/__free_pages
// over the buddy allocator, both on a fake machine from
// tests/host/mm_test_arena.h) and through the process's malloc/free, which
// is glibc's, or jemalloc's/mimalloc's when the driver preloads them
// (bench/host_compare.py: LD_PRELOAD=libjemalloc.so.2 / libmimalloc.so.2).
//
//   host_alloc_bench --trace small|pages --allocator kernel|malloc
//                    [--ops N] [--reps R]
//
// Prints one line `host_alloc <trace> <allocator> ops=N ns_per_op=X`.
// Under `valgrind --tool=callgrind --toggle-collect=replay_*` only the
// replay functions are counted, so Ir / ops is instructions per operation.
// Built without sanitizers (they would dominate every figure).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "mm/slab.h"
#include "mm_test_arena.h"

namespace {

// One step of the trace: allocate `size` bytes (or 2^order pages) into
// slot `slot`, or free what the slot holds.
struct Step {
  uint32_t slot;
  uint32_t size;  // bytes (small) or order (pages); 0 = free
};

// A fixed LCG, so every allocator and every run replays the same trace.
struct Lcg {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(s >> 33);
  }
};

// Small objects: kmalloc-class sizes weighted towards the small end (most
// kernel objects are small), a live set of up to `slots` objects, and
// alloc/free in random interleaving: the slab fast path and its refills.
std::vector<Step> make_trace(bool pages, uint64_t ops, uint32_t slots) {
  static constexpr uint32_t kSmall[] = {16, 16, 32, 64, 64, 64, 96, 128, 192, 256, 512, 1024, 4096};
  static constexpr uint32_t kOrders[] = {0, 0, 0, 0, 0, 0, 1, 1, 2, 3};
  Lcg rng{42};
  std::vector<bool> live(slots, false);
  std::vector<Step> t;
  t.reserve(ops + slots);
  for (uint64_t i = 0; i < ops; ++i) {
    const uint32_t slot = rng.next() % slots;
    if (live[slot]) {
      t.push_back({slot, 0});
    } else {
      const uint32_t v = pages ? kOrders[rng.next() % std::size(kOrders)] + 1
                               : kSmall[rng.next() % std::size(kSmall)];
      t.push_back({slot, v});
    }
    live[slot] = !live[slot];
  }
  // Free whatever is left: every allocator ends where it began.
  for (uint32_t s = 0; s < slots; ++s)
    if (live[s]) t.push_back({s, 0});
  return t;
}

std::vector<void*> g_slot;
std::vector<uint32_t> g_order;

// The replay loops are extern "C" and never inlined so callgrind's
// --toggle-collect can name them.
extern "C" [[gnu::noinline]] void replay_kmalloc(const Step* t, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    void*& p = g_slot[t[i].slot];
    if (t[i].size) {
      p = k::kmalloc(t[i].size, k::GFP_KERNEL);
      if (!p) std::abort();
      static_cast<char*>(p)[0] = 1;
    } else {
      k::kfree(p);
    }
  }
}

extern "C" [[gnu::noinline]] void replay_malloc(const Step* t, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    void*& p = g_slot[t[i].slot];
    if (t[i].size) {
      p = std::malloc(t[i].size);
      if (!p) std::abort();
      static_cast<char*>(p)[0] = 1;
    } else {
      std::free(p);
    }
  }
}

extern "C" [[gnu::noinline]] void replay_pages(const Step* t, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t s = t[i].slot;
    if (t[i].size) {
      const unsigned order = t[i].size - 1;
      k::Page* pg = k::alloc_pages(k::GFP_KERNEL, order);
      if (!pg) std::abort();
      g_slot[s] = pg;
      g_order[s] = order;
    } else {
      k::__free_pages(static_cast<k::Page*>(g_slot[s]), g_order[s]);
    }
  }
}

extern "C" [[gnu::noinline]] void replay_pages_malloc(const Step* t, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    void*& p = g_slot[t[i].slot];
    if (t[i].size) {
      p = std::aligned_alloc(4096, size_t{4096} << (t[i].size - 1));
      if (!p) std::abort();
      static_cast<char*>(p)[0] = 1;
    } else {
      std::free(p);
    }
  }
}

double now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int usage() {
  std::fprintf(stderr,
               "usage: host_alloc_bench --trace small|pages --allocator kernel|malloc "
               "[--ops N] [--reps R]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string trace = "small", allocator = "kernel";
  uint64_t ops = 200000;
  int reps = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--trace")
      trace = v;
    else if (a == "--allocator")
      allocator = v;
    else if (a == "--ops")
      ops = std::strtoull(v, nullptr, 10);
    else if (a == "--reps")
      reps = std::atoi(v);
    else
      return usage();
  }
  const bool pages = trace == "pages";
  if ((!pages && trace != "small") || (allocator != "kernel" && allocator != "malloc") ||
      ops == 0 || reps <= 0)
    return usage();

  const uint32_t slots = pages ? 512 : 4096;
  const std::vector<Step> t = make_trace(pages, ops, slots);
  g_slot.assign(slots, nullptr);
  g_order.assign(slots, 0);

  // The fake machine: 1 GiB at 2 GiB, one CPU (the slab and pcp fast paths).
  std::unique_ptr<mmtest::Machine> m;
  uint64_t free_before = 0;
  if (allocator == "kernel") {
    host::g_log_echo = false;
    m = std::make_unique<mmtest::Machine>(0x80000000, 0xC0000000, 1);
    m->info().add_memory(k::PhysRange{k::PhysAddr(0x80000000), uint64_t{1} << 30}, k::NUMA_NO_NODE);
    if (!m->boot()) {
      std::fprintf(stderr, "host_alloc_bench: fake machine did not boot\n");
      return 1;
    }
    k::kmem_cache_init();
    free_before = k::nr_free_pages();
  }

  auto replay = allocator == "kernel" ? (pages ? replay_pages : replay_kmalloc)
                                      : (pages ? replay_pages_malloc : replay_malloc);
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_ns();
    replay(t.data(), t.size());
    const double dt = now_ns() - t0;
    if (dt < best) best = dt;
  }
  if (allocator == "kernel") {
    k::slab_nr_pages_shrunk();
    k::drain_all_pages(nullptr);
    if (k::nr_free_pages() != free_before) {
      std::fprintf(stderr, "host_alloc_bench: %llu pages lost\n",
                   static_cast<unsigned long long>(free_before - k::nr_free_pages()));
      return 1;
    }
  }
  std::printf("host_alloc %s %s ops=%zu reps=%d ns_per_op=%.2f\n", trace.c_str(), allocator.c_str(),
              t.size(), reps, best / static_cast<double>(t.size()));
  return 0;
}
