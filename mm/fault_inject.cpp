// Allocation-failure injection: the attribute logic of Linux
// lib/fault-inject.c and the GFP filters of mm/fail_page_alloc.c and
// mm/failslab.c. See fault_inject.h.
#include "mm/fault_inject.h"

#include "kernel/printk.h"
#include "lib/cmdline.h"

namespace k {

FaultAttr fail_page_alloc{"fail_page_alloc"};
FaultAttr failslab{"failslab"};
FaultAttr fail_vmalloc{"fail_vmalloc"};
FaultAttr fail_swiotlb{"fail_swiotlb"};

std::atomic<uint32_t> g_fault_inject_armed{0};

namespace {

constexpr uint32_t kArmedByAttr = 1;
constexpr uint32_t kArmedByTask = 2;

FaultAttr* const kAttrs[] = {&fail_page_alloc, &failslab, &fail_vmalloc, &fail_swiotlb};

// splitmix64 over one shared word: the draw only has to be uniform enough
// for "about p percent", and a fixed seed makes runs repeatable.
std::atomic<uint64_t> g_seed{0x9e3779b97f4a7c15ull};

uint32_t random_below_100() {
  uint64_t z = g_seed.fetch_add(0x9e3779b97f4a7c15ull, std::memory_order_relaxed);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<uint32_t>(z % 100);
}

// Decrements a positive counter; false if it was already 0.
template <typename T>
bool dec_not_zero(std::atomic<T>& v) {
  T cur = v.load(std::memory_order_relaxed);
  while (cur > 0)
    if (v.compare_exchange_weak(cur, cur - 1, std::memory_order_relaxed)) return true;
  return false;
}

void fail_dump(const FaultAttr& attr, bool by_task, uint64_t size) {
  if (!attr.verbose.load(std::memory_order_relaxed)) return;
  pr_info("FAULT_INJECTION: forcing a failure (%s): %s, size %llu, times %lld\n", attr.name,
          by_task ? "task fail-nth" : "attribute", static_cast<unsigned long long>(size),
          static_cast<long long>(attr.times.load(std::memory_order_relaxed)));
}

// The task counter path of Linux should_fail_ex(): a pending count is
// consumed whatever the attribute says; it fires when it reaches 0.
// Returns 1 = fail, 0 = counted (do not fail), -1 = no task counter armed.
int task_nth_step() {
  if (!(g_fault_inject_armed.load(std::memory_order_relaxed) & kArmedByTask)) return -1;
  std::atomic<uint32_t>* nth = fault_inject_task_nth();
  if (!nth) return -1;
  uint32_t cur = nth->load(std::memory_order_relaxed);
  while (cur) {
    if (nth->compare_exchange_weak(cur, cur - 1, std::memory_order_relaxed)) return cur == 1;
  }
  return -1;
}

bool parse_i64(std::string_view s, int64_t* out) {
  bool neg = false;
  if (!s.empty() && s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  auto v = parse_u64(s);
  if (!v || *v > static_cast<uint64_t>(INT64_MAX)) return false;
  *out = neg ? -static_cast<int64_t>(*v) : static_cast<int64_t>(*v);
  return true;
}

}  // namespace

bool should_fail(FaultAttr& attr, uint64_t size, bool nowarn) {
  attr.calls.fetch_add(1, std::memory_order_relaxed);
  const int t = task_nth_step();
  if (t >= 0) {
    if (!t) return false;
    attr.injected.fetch_add(1, std::memory_order_relaxed);
    if (!nowarn) fail_dump(attr, true, size);
    return true;
  }
  // Nothing to check with probability 0 (Linux's early exit).
  const uint32_t prob = attr.probability.load(std::memory_order_relaxed);
  if (prob == 0) return false;
  if (attr.times.load(std::memory_order_relaxed) == 0) return false;
  // Let `space` bytes through first.
  int64_t space = attr.space.load(std::memory_order_relaxed);
  while (space > static_cast<int64_t>(size)) {
    if (attr.space.compare_exchange_weak(space, space - static_cast<int64_t>(size),
                                         std::memory_order_relaxed))
      return false;
  }
  const uint64_t interval = attr.interval.load(std::memory_order_relaxed);
  if (interval > 1 && attr.calls.load(std::memory_order_relaxed) % interval) return false;
  if (prob <= random_below_100()) return false;
  // times == -1: no limit; otherwise one fewer failure left (another CPU
  // may have used the last one meanwhile).
  if (attr.times.load(std::memory_order_relaxed) != -1 && !dec_not_zero(attr.times)) return false;
  attr.injected.fetch_add(1, std::memory_order_relaxed);
  if (!nowarn) fail_dump(attr, false, size);
  return true;
}

bool __should_fail_alloc_page(gfp_t gfp, unsigned order) {
  if (gfp & __GFP_NOFAIL) return false;
  if (order < fail_page_alloc.min_order.load(std::memory_order_relaxed)) return false;
  if (fail_page_alloc.ignore_gfp_reclaim.load(std::memory_order_relaxed) &&
      (gfp & __GFP_DIRECT_RECLAIM))
    return false;
  return should_fail(fail_page_alloc, uint64_t{1} << order, gfp & __GFP_NOWARN);
}

bool __should_failslab(size_t size, gfp_t gfp) {
  if (gfp & __GFP_NOFAIL) return false;
  if (failslab.ignore_gfp_reclaim.load(std::memory_order_relaxed) && (gfp & __GFP_DIRECT_RECLAIM))
    return false;
  return should_fail(failslab, size, gfp & __GFP_NOWARN);
}

bool __should_fail_vmalloc(size_t size, gfp_t gfp) {
  if (gfp & __GFP_NOFAIL) return false;
  if (fail_vmalloc.ignore_gfp_reclaim.load(std::memory_order_relaxed) &&
      (gfp & __GFP_DIRECT_RECLAIM))
    return false;
  return should_fail(fail_vmalloc, size, gfp & __GFP_NOWARN);
}

bool __should_fail_swiotlb(size_t size) { return should_fail(fail_swiotlb, size, false); }

bool fault_attr_parse(FaultAttr& attr, std::string_view text) {
  std::string_view fields[4];
  for (unsigned i = 0; i < 4; ++i) {
    const size_t comma = text.find(',');
    if ((comma == std::string_view::npos) != (i == 3)) return false;
    fields[i] = text.substr(0, comma);
    if (i < 3) text.remove_prefix(comma + 1);
  }
  const auto interval = parse_u64(fields[0]);
  const auto prob = parse_u64(fields[1]);
  int64_t space = 0, times = 0;
  if (!interval || !prob || *prob > 100 || !parse_i64(fields[2], &space) ||
      !parse_i64(fields[3], &times) || times < -1)
    return false;
  attr.interval.store(*interval ? *interval : 1, std::memory_order_relaxed);
  attr.space.store(space, std::memory_order_relaxed);
  attr.times.store(times, std::memory_order_relaxed);
  attr.probability.store(static_cast<uint32_t>(*prob), std::memory_order_relaxed);
  if (*prob) g_fault_inject_armed.fetch_or(kArmedByAttr, std::memory_order_relaxed);
  return true;
}

void fault_attr_reset(FaultAttr& attr) {
  attr.probability.store(0, std::memory_order_relaxed);
  attr.interval.store(1, std::memory_order_relaxed);
  attr.times.store(1, std::memory_order_relaxed);
  attr.space.store(0, std::memory_order_relaxed);
  attr.ignore_gfp_reclaim.store(false, std::memory_order_relaxed);
  attr.min_order.store(0, std::memory_order_relaxed);
}

FaultAttr* fault_attr_by_name(std::string_view name) {
  for (FaultAttr* a : kAttrs)
    if (cmdline_key_eq(name, a->name)) return a;
  return nullptr;
}

void fault_inject_seed(uint64_t seed) { g_seed.store(seed, std::memory_order_relaxed); }

void fault_inject_setup(std::string_view cmdline) {
  cmdline_for_each(cmdline, [](const CmdlineParam& p) {
    const size_t dot = p.key.find('.');
    FaultAttr* a = fault_attr_by_name(p.key.substr(0, dot));
    if (!a) return;
    if (dot == std::string_view::npos) {
      if (!fault_attr_parse(*a, p.value))
        pr_warn("%s=%.*s: expected <interval>,<probability>,<space>,<times>; ignored\n", a->name,
                static_cast<int>(p.value.size()), p.value.data());
      else
        pr_info("fault injection: %s interval %llu probability %u%% space %lld times %lld\n",
                a->name, static_cast<unsigned long long>(a->interval.load()), a->probability.load(),
                static_cast<long long>(a->space.load()), static_cast<long long>(a->times.load()));
      return;
    }
    const std::string_view opt = p.key.substr(dot + 1);
    if (cmdline_key_eq(opt, "verbose")) {
      if (auto v = parse_u64(p.value)) return a->verbose.store(static_cast<uint32_t>(*v));
    } else if (cmdline_key_eq(opt, "ignore_gfp_reclaim")) {
      if (auto v = parse_bool(p.value)) return a->ignore_gfp_reclaim.store(*v);
    } else if (cmdline_key_eq(opt, "min_order") && a == &fail_page_alloc) {
      if (auto v = parse_u64(p.value)) return a->min_order.store(static_cast<uint32_t>(*v));
    }
    pr_warn("%.*s=%.*s: unknown option or bad value; ignored\n", static_cast<int>(p.key.size()),
            p.key.data(), static_cast<int>(p.value.size()), p.value.data());
  });
}

void fail_nth_arm(std::atomic<uint32_t>& counter, uint32_t n) {
  if (n) g_fault_inject_armed.fetch_or(kArmedByTask, std::memory_order_relaxed);
  counter.store(n, std::memory_order_relaxed);
}

bool fail_nth_set(uint32_t n) {
  std::atomic<uint32_t>* c = fault_inject_task_nth();
  if (!c) return false;
  fail_nth_arm(*c, n);
  return true;
}

uint32_t fail_nth_get() {
  std::atomic<uint32_t>* c = fault_inject_task_nth();
  return c ? c->load(std::memory_order_relaxed) : 0;
}

}  // namespace k
