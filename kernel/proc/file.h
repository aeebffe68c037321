// Open files of a process: the console (fds 0-2 at start), read-only
// initramfs files and directories, and synthetic /proc files (a snapshot
// of text taken at the first read), and pipes. An OpenFile is an open file description: fork
// shares it (and its offset) between parent and child, as in POSIX.
#pragma once

#include <atomic>
#include <cstdint>

#include "fs/initramfs.h"
#include "lib/result.h"
#include "lib/spinlock.h"

namespace k {

inline constexpr int kMaxFds = 64;

enum class FileKind : uint8_t { kConsole, kNode, kSynthetic, kPipeRead, kPipeWrite };

struct Pipe;

struct OpenFile {
  std::atomic<int> refs{1};
  FileKind kind = FileKind::kConsole;
  const initramfs::Node* node = nullptr;  // kNode
  char* text = nullptr;                   // kSynthetic: kmalloc'd text, made at first read
  uint64_t text_len = 0;
  int proc_pid = 0;       // kSynthetic: /proc/<pid>/status (0: self)
  bool fail_nth = false;  // kSynthetic: /proc/<pid>/fail-nth instead of status
  Pipe* pipe = nullptr;   // kPipeRead / kPipeWrite
  uint64_t pos = 0;
  uint32_t flags = 0;  // open flags (O_ACCMODE bits, O_DIRECTORY, ...)
  SpinLock lock;       // pos
};

struct FileTable {
  SpinLock lock;
  OpenFile* fds[kMaxFds] = {};
  bool cloexec[kMaxFds] = {};
};

// A table with the console on 0, 1 and 2. nullptr without memory.
FileTable* files_new_console();
FileTable* files_dup(FileTable* t);
void files_free(FileTable* t);
// Closes the O_CLOEXEC descriptors (execve).
void files_close_on_exec(FileTable* t);

OpenFile* file_new(FileKind kind);
void file_get(OpenFile* f);
void file_put(OpenFile* f);

// Lowest free descriptor >= 0 takes `f` (the reference is moved in).
Result<int> fd_install(FileTable* t, OpenFile* f, bool cloexec);
// A referenced OpenFile for fd, or EBADF.
Result<OpenFile*> fd_get(FileTable* t, int fd);
Result<void> fd_close(FileTable* t, int fd);

// Live OpenFile objects (leak counter for self-tests).
uint64_t open_file_count();

}  // namespace k
