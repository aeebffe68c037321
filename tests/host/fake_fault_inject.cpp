// Host fake of the task side of fault injection: one fail-nth counter per
// host thread (each test thread is a "task").
#include "mm/fault_inject.h"

namespace k {

std::atomic<uint32_t>* fault_inject_task_nth() {
  thread_local std::atomic<uint32_t> nth{0};
  return &nth;
}

}  // namespace k
