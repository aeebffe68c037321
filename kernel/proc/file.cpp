// Descriptor tables and open file descriptions (see kernel/proc/file.h).
#include "kernel/proc/file.h"

#include <new>

#include "kernel/proc/pipe.h"
#include "mm/kmalloc.h"

namespace k {
namespace {
std::atomic<uint64_t> g_open_files{0};
}

uint64_t open_file_count() { return g_open_files.load(); }

OpenFile* file_new(FileKind kind) {
  void* p = kzalloc(sizeof(OpenFile), GFP_KERNEL);
  if (!p) return nullptr;
  auto* f = new (p) OpenFile();
  f->kind = kind;
  g_open_files.fetch_add(1);
  return f;
}

void file_get(OpenFile* f) { f->refs.fetch_add(1); }

void file_put(OpenFile* f) {
  if (!f || f->refs.fetch_sub(1) != 1) return;
  if (f->pipe) pipe_release(f->pipe, f->kind == FileKind::kPipeWrite);
  kfree(f->text);
  f->~OpenFile();
  kfree(f);
  g_open_files.fetch_sub(1);
}

FileTable* files_new_console() {
  void* p = kzalloc(sizeof(FileTable), GFP_KERNEL);
  if (!p) return nullptr;
  auto* t = new (p) FileTable();
  OpenFile* con = file_new(FileKind::kConsole);
  if (!con) {
    files_free(t);
    return nullptr;
  }
  con->flags = 2;  // O_RDWR
  t->fds[0] = con;
  file_get(con);
  t->fds[1] = con;
  file_get(con);
  t->fds[2] = con;
  return t;
}

FileTable* files_dup(FileTable* src) {
  void* p = kzalloc(sizeof(FileTable), GFP_KERNEL);
  if (!p) return nullptr;
  auto* t = new (p) FileTable();
  IrqSpinLockGuard g(src->lock);
  for (int i = 0; i < kMaxFds; ++i) {
    if (!src->fds[i]) continue;
    file_get(src->fds[i]);
    t->fds[i] = src->fds[i];
    t->cloexec[i] = src->cloexec[i];
  }
  return t;
}

void files_free(FileTable* t) {
  if (!t) return;
  for (int i = 0; i < kMaxFds; ++i) file_put(t->fds[i]);
  t->~FileTable();
  kfree(t);
}

void files_close_on_exec(FileTable* t) {
  for (int i = 0; i < kMaxFds; ++i) {
    OpenFile* f = nullptr;
    {
      IrqSpinLockGuard g(t->lock);
      if (t->fds[i] && t->cloexec[i]) {
        f = t->fds[i];
        t->fds[i] = nullptr;
        t->cloexec[i] = false;
      }
    }
    file_put(f);
  }
}

Result<int> fd_install(FileTable* t, OpenFile* f, bool cloexec) {
  IrqSpinLockGuard g(t->lock);
  for (int i = 0; i < kMaxFds; ++i) {
    if (t->fds[i]) continue;
    t->fds[i] = f;
    t->cloexec[i] = cloexec;
    return i;
  }
  return Errno::kEMFILE;
}

Result<OpenFile*> fd_get(FileTable* t, int fd) {
  if (!t || fd < 0 || fd >= kMaxFds) return Errno::kEBADF;
  IrqSpinLockGuard g(t->lock);
  OpenFile* f = t->fds[fd];
  if (!f) return Errno::kEBADF;
  file_get(f);
  return f;
}

Result<void> fd_close(FileTable* t, int fd) {
  if (fd < 0 || fd >= kMaxFds) return Errno::kEBADF;
  OpenFile* f;
  {
    IrqSpinLockGuard g(t->lock);
    f = t->fds[fd];
    if (!f) return Errno::kEBADF;
    t->fds[fd] = nullptr;
    t->cloexec[fd] = false;
  }
  file_put(f);
  return {};
}

}  // namespace k
