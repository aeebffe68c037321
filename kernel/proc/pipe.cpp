// Anonymous pipes (see kernel/proc/pipe.h).
#include "kernel/proc/pipe.h"

#include <new>

#include "arch/riscv/kernel/uaccess.h"
#include "kernel/proc/file.h"
#include "kernel/proc/process.h"
#include "kernel/sched/sched.h"
#include "mm/kmalloc.h"

namespace k {

// PIPE_BUF is 4096 on Linux; one page of buffer keeps writes up to it atomic.
inline constexpr uint64_t kPipeSize = 4096;

struct Pipe {
  SpinLock lock;  // rank: outside the wait-queue and mm locks
  WaitQueue readable;
  WaitQueue writable;
  uint8_t buf[kPipeSize];
  uint64_t head = 0;  // next byte to read
  uint64_t count = 0;
  int readers = 1;
  int writers = 1;
};

namespace {

constexpr int kSigPipe = 13;
constexpr int64_t kEpipe = 32;  // EPIPE (asm-generic/errno-base.h)

uint64_t locked_count(Pipe* p, int* writers, int* readers) {
  IrqSpinLockGuard g(p->lock);
  if (writers) *writers = p->writers;
  if (readers) *readers = p->readers;
  return p->count;
}

}  // namespace

Result<void> pipe_create(OpenFile** rd, OpenFile** wr) {
  void* mem = kzalloc(sizeof(Pipe), GFP_KERNEL);
  if (!mem) return Errno::kENOMEM;
  Pipe* p = new (mem) Pipe();
  OpenFile* r = file_new(FileKind::kPipeRead);
  OpenFile* w = r ? file_new(FileKind::kPipeWrite) : nullptr;
  if (!w) {
    file_put(r);  // pipe not attached yet
    p->~Pipe();
    kfree(p);
    return Errno::kENOMEM;
  }
  r->pipe = p;
  w->pipe = p;
  *rd = r;
  *wr = w;
  return {};
}

int64_t pipe_read(Pipe* p, uint64_t ubuf, uint64_t len) {
  if (len == 0) return 0;
  int writers = 0;
  if (!locked_count(p, &writers, nullptr)) {
    wait_event(p->readable, [&] { return locked_count(p, &writers, nullptr) || writers == 0; });
    if (current()->killed.load()) return -static_cast<int64_t>(Errno::kEINTR);
  }
  uint8_t chunk[256];
  uint64_t done = 0;
  while (done < len) {
    uint64_t n = 0;
    {
      IrqSpinLockGuard g(p->lock);
      while (n < sizeof chunk && n < len - done && p->count) {
        chunk[n++] = p->buf[p->head];
        p->head = (p->head + 1) % kPipeSize;
        --p->count;
      }
    }
    if (!n) break;
    if (arch::copy_to_user(ubuf + done, chunk, n)) {
      wake_up_all(p->writable);
      return done ? static_cast<int64_t>(done) : -static_cast<int64_t>(Errno::kEFAULT);
    }
    done += n;
  }
  wake_up_all(p->writable);
  return static_cast<int64_t>(done);
}

int64_t pipe_write(Pipe* p, uint64_t ubuf, uint64_t len) {
  uint64_t done = 0;
  uint8_t chunk[256];
  while (done < len) {
    int readers = 0;
    locked_count(p, nullptr, &readers);
    if (readers == 0) {
      // SIGPIPE is raised by the caller (pipe_raise_sigpipe) once it has
      // dropped its file reference: exiting here leaked the file and pipe.
      return done ? static_cast<int64_t>(done) : -kEpipe;
    }
    const uint64_t want = len - done < sizeof chunk ? len - done : sizeof chunk;
    if (arch::copy_from_user(chunk, ubuf + done, want))
      return done ? static_cast<int64_t>(done) : -static_cast<int64_t>(Errno::kEFAULT);
    uint64_t put = 0;
    while (put < want) {
      uint64_t n = 0;
      {
        IrqSpinLockGuard g(p->lock);
        if (p->readers == 0) break;
        while (put + n < want && p->count < kPipeSize) {
          p->buf[(p->head + p->count) % kPipeSize] = chunk[put + n];
          ++p->count;
          ++n;
        }
      }
      put += n;
      if (n) wake_up_all(p->readable);
      if (put < want) {
        wait_event(p->writable, [&] {
          int r = 0;
          return locked_count(p, nullptr, &r) < kPipeSize || r == 0;
        });
        if (current()->killed.load())
          return done + put ? static_cast<int64_t>(done + put)
                            : -static_cast<int64_t>(Errno::kEINTR);
        int r = 0;
        locked_count(p, nullptr, &r);
        if (r == 0) break;
      }
    }
    done += put;
    if (put < want) continue;  // the reader went away: next round reports it
  }
  return static_cast<int64_t>(done);
}

void pipe_raise_sigpipe() {
  if (current()->sigactions[kSigPipe - 1].handler != 1) do_exit(wait_status_signaled(kSigPipe));
}

void pipe_release(Pipe* p, bool write_end) {
  bool free_it;
  {
    IrqSpinLockGuard g(p->lock);
    if (write_end)
      --p->writers;
    else
      --p->readers;
    free_it = p->readers == 0 && p->writers == 0;
  }
  if (free_it) {
    p->~Pipe();
    kfree(p);
    return;
  }
  wake_up_all(write_end ? p->readable : p->writable);
}

}  // namespace k
