// On-target tests of the user access primitives (suite `uaccess`): a
// temporary address space is made current on the test's CPU, then
// copies, strings and single values cross it; bad pointers are EFAULT
// with a zeroed destination.
#include <arch/cpu.h>
#include <arch/user_pgtable.h>

#include "arch/riscv/kernel/uaccess.h"
#include "kernel/sched/sched.h"
#include "kernel/selftest.h"
#include "mm/mm_struct.h"

namespace {

using namespace k;

constexpr uint64_t kBase = 0x50000000;

// Runs body with `mm` as the current task's address space.
template <typename Fn>
void with_mm(MmStruct* mm, Fn&& body) {
  Task* t = current();
  MmStruct* saved = t->mm;
  unsigned long f = arch::irq_save();
  t->mm = mm;
  arch::switch_mm(&mm->pgd);
  arch::irq_restore(f);
  body();
  f = arch::irq_save();
  t->mm = saved;
  arch::switch_mm(saved ? &saved->pgd : nullptr);
  arch::irq_restore(f);
}

}  // namespace

SELFTEST(uaccess, kernel_and_unmapped_pointers_are_efault_with_zeroed_destination) {
  if (!sched_ready()) {
    t.skip("no scheduler");
    return;
  }
  uint8_t buf[16];
  for (auto& b : buf) b = 0xcc;
  // A kernel address is beyond TASK_SIZE.
  KEXPECT_EQ(arch::copy_from_user(buf, reinterpret_cast<uint64_t>(&buf), sizeof buf), sizeof buf);
  KEXPECT_EQ(buf[0], 0);
  KEXPECT_EQ(buf[15], 0);
  KEXPECT_EQ(arch::copy_to_user(arch::user_task_size() - 4, buf, 8), 8u);  // straddles the top
  KEXPECT(!arch::access_ok(~uint64_t{0} - 4, 8));
  MmStruct* mm = mm_alloc();
  KASSERT(mm != nullptr);
  with_mm(mm, [&] {
    KEXPECT_EQ(arch::copy_from_user(buf, kBase, 4), 4u);  // nothing mapped
    KEXPECT(arch::get_user<uint32_t>(kBase).error() == Errno::kEFAULT);
  });
  mmput(mm);
}

SELFTEST(uaccess, copies_strings_and_values_round_trip) {
  if (!sched_ready()) {
    t.skip("no scheduler");
    return;
  }
  MmStruct* mm = mm_alloc();
  KASSERT(mm != nullptr);
  KASSERT(mm_map(mm, kBase, kBase + 2 * kPageSize,
                 VmaProto{VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE, {}, 0})
              .ok());
  KASSERT(mm_map(mm, kBase + 2 * kPageSize, kBase + 3 * kPageSize,
                 VmaProto{VM_READ | VM_MAYREAD, {}, 0})
              .ok());
  with_mm(mm, [&] {
    // Across the page boundary, unaligned.
    char msg[] = "hello, user space";
    const uint64_t at = kBase + kPageSize - 5;
    KEXPECT_EQ(arch::copy_to_user(at, msg, sizeof msg), 0u);
    char back[sizeof msg] = {};
    KEXPECT_EQ(arch::copy_from_user(back, at, sizeof msg), 0u);
    bool same = true;
    for (size_t i = 0; i < sizeof msg; ++i) same &= back[i] == msg[i];
    KEXPECT(same);
    char s[64];
    auto n = arch::strncpy_from_user(s, at, sizeof s);
    KEXPECT(n.ok() && n.value() == sizeof msg - 1);
    auto n2 = arch::strncpy_from_user(s, at, 5);
    KEXPECT(n2.ok() && n2.value() == 5u);  // no NUL within 5 bytes
    KEXPECT(arch::put_user<uint64_t>(0x1122334455667788ull, kBase + 8).ok());
    auto v = arch::get_user<uint64_t>(kBase + 8);
    KEXPECT(v.ok() && v.value() == 0x1122334455667788ull);
    // Read-only page: reads work (zero page), writes are EFAULT.
    KEXPECT(arch::get_user<uint32_t>(kBase + 2 * kPageSize).ok());
    KEXPECT(arch::put_user<uint32_t>(1, kBase + 2 * kPageSize).error() == Errno::kEFAULT);
    // A copy that runs off the mapping stops there: bytes not copied.
    uint8_t big[64];
    KEXPECT_EQ(arch::copy_to_user(kBase + 2 * kPageSize - 16, big, sizeof big), 48u);
    KEXPECT_EQ(arch::clear_user(kBase, 32), 0u);
    KEXPECT(arch::get_user<uint64_t>(kBase + 8).value_or(1) == 0);
  });
  mmput(mm);
}
