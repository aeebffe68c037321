// System call dispatch and the calls that are neither memory nor process
// lifetime: files on the initramfs and the console, time, identity,
// limits, signals (recorded only). Numbers: Linux asm-generic/unistd.h.
#include "kernel/proc/syscall.h"

#include <atomic>
#include <cstring>

#include <arch/cpu.h>
#include <arch/platform.h>
#include <arch/user_pgtable.h>

#include "arch/riscv/kernel/uaccess.h"
#include "fs/initramfs_boot.h"
#include "kernel/console.h"
#include "kernel/printk.h"
#include "kernel/proc/exec.h"
#include "kernel/proc/file.h"
#include "kernel/proc/meminfo.h"
#include "kernel/proc/pipe.h"
#include "kernel/proc/process.h"
#include "kernel/sched/sched.h"
#include "kernel/timer.h"
#include "lib/cmdline.h"
#include "lib/format.h"
#include "mm/kmalloc.h"
#include "mm/mm_struct.h"
#include "mm/mmap.h"

namespace k {
namespace {

using arch::copy_from_user;
using arch::copy_to_user;

enum Nr : uint64_t {
  NR_getcwd = 17,
  NR_pipe2 = 59,
  NR_dup = 23,
  NR_dup3 = 24,
  NR_fcntl = 25,
  NR_ioctl = 29,
  NR_faccessat = 48,
  NR_chdir = 49,
  NR_openat = 56,
  NR_close = 57,
  NR_getdents64 = 61,
  NR_lseek = 62,
  NR_read = 63,
  NR_write = 64,
  NR_readv = 65,
  NR_writev = 66,
  NR_pread64 = 67,
  NR_readlinkat = 78,
  NR_newfstatat = 79,
  NR_fstat = 80,
  NR_exit = 93,
  NR_exit_group = 94,
  NR_set_tid_address = 96,
  NR_futex = 98,
  NR_set_robust_list = 99,
  NR_nanosleep = 101,
  NR_clock_gettime = 113,
  NR_clock_getres = 114,
  NR_clock_nanosleep = 115,
  NR_sched_yield = 124,
  NR_kill = 129,
  NR_tkill = 130,
  NR_tgkill = 131,
  NR_sigaltstack = 132,
  NR_rt_sigaction = 134,
  NR_rt_sigprocmask = 135,
  NR_uname = 160,
  NR_getrlimit = 163,
  NR_getpid = 172,
  NR_getppid = 173,
  NR_getuid = 174,
  NR_geteuid = 175,
  NR_getgid = 176,
  NR_getegid = 177,
  NR_gettid = 178,
  NR_brk = 214,
  NR_munmap = 215,
  NR_mremap = 216,
  NR_clone = 220,
  NR_execve = 221,
  NR_mmap = 222,
  NR_mprotect = 226,
  NR_madvise = 233,
  NR_wait4 = 260,
  NR_prlimit64 = 261,
  NR_getrandom = 278,
  NR_riscv_flush_icache = 259,
  NR_rseq = 293,
  NR_clone3 = 435,
};

constexpr int64_t e(Errno x) { return -static_cast<int64_t>(x); }

// open flags (asm-generic/fcntl.h).
constexpr uint32_t O_ACCMODE = 3, O_CREAT = 0100, O_DIRECTORY = 0200000, O_CLOEXEC = 02000000;
constexpr int AT_FDCWD = -100;
constexpr uint32_t AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;

Task* cur() { return current(); }

bool strncmp_prefix(const char* s, const char* prefix) {
  for (; *prefix; ++s, ++prefix)
    if (*s != *prefix) return false;
  return true;
}

// Syscall numbers already reported as unknown (one log line each).
std::atomic<uint64_t> g_unknown_logged[8];

int64_t unknown(uint64_t nr) {
  const uint64_t w = nr / 64 % 8, b = uint64_t{1} << (nr % 64);
  if (!(g_unknown_logged[w].fetch_or(b) & b))
    pr_warn("syscall %llu not implemented (pid %d, %s): ENOSYS\n",
            static_cast<unsigned long long>(nr), cur()->pid, cur()->comm);
  return e(Errno::kENOSYS);
}

// A user path into a kernel buffer (PATH_MAX).
Result<char*> get_path(uint64_t upath) {
  char* buf = static_cast<char*>(kmalloc(initramfs::kPathMax, GFP_KERNEL));
  if (!buf) return Errno::kENOMEM;
  auto r = arch::strncpy_from_user(buf, upath, initramfs::kPathMax);
  if (!r.ok() || r.value() == initramfs::kPathMax) {
    kfree(buf);
    return r.ok() ? Errno::kENAMETOOLONG : r.error();
  }
  return buf;
}

// Only "/" is a working directory here; relative paths resolve from it.
Result<const initramfs::Node*> resolve(int dirfd, const char* path, bool follow) {
  const initramfs::Tree& fs = initramfs::rootfs();
  const initramfs::Node* dir = nullptr;
  if (path[0] != '/' && dirfd != AT_FDCWD) {
    auto fr = fd_get(cur()->files, dirfd);
    if (!fr.ok()) return Errno::kEBADF;
    OpenFile* f = fr.value();
    dir = f->kind == FileKind::kNode ? f->node : nullptr;
    file_put(f);
    if (!dir || !dir->is_dir()) return Errno::kENOTDIR;
  }
  return fs.lookup(path, follow, dir);
}

// struct stat of asm-generic/stat.h (riscv64).
struct KStat {
  uint64_t st_dev, st_ino;
  uint32_t st_mode, st_nlink, st_uid, st_gid;
  uint64_t st_rdev, pad1;
  int64_t st_size;
  int32_t st_blksize, pad2;
  int64_t st_blocks;
  int64_t st_atime_;
  uint64_t st_atime_nsec;
  int64_t st_mtime_;
  uint64_t st_mtime_nsec;
  int64_t st_ctime_;
  uint64_t st_ctime_nsec;
  uint32_t unused4, unused5;
};
static_assert(sizeof(KStat) == 128);

KStat stat_of_node(const initramfs::Node* n) {
  const initramfs::Stat s = initramfs::rootfs().stat(n);
  KStat k{};
  k.st_dev = 1;
  k.st_ino = s.ino;
  k.st_mode = s.mode;
  k.st_nlink = s.nlink;
  k.st_uid = s.uid;
  k.st_gid = s.gid;
  k.st_size = static_cast<int64_t>(s.size);
  k.st_blksize = static_cast<int32_t>(s.blksize ? s.blksize : 4096);
  k.st_blocks = static_cast<int64_t>(s.blocks);
  k.st_atime_ = k.st_mtime_ = k.st_ctime_ = s.mtime;
  return k;
}

KStat stat_of_console() {
  KStat k{};
  k.st_dev = 5;
  k.st_ino = 3;
  k.st_mode = 0020620;  // S_IFCHR | 0620
  k.st_nlink = 1;
  k.st_rdev = (5u << 8) | 1;  // /dev/console
  k.st_blksize = 1024;
  return k;
}

KStat stat_of_synthetic(const OpenFile* f) {
  KStat k{};
  k.st_dev = 2;
  k.st_ino = 100;
  k.st_mode = 0100444;
  k.st_nlink = 1;
  k.st_size = 0;  // like procfs
  k.st_blksize = 1024;
  (void)f;
  return k;
}

int64_t do_stat_out(uint64_t ubuf, const KStat& st) {
  return copy_to_user(ubuf, &st, sizeof st) ? e(Errno::kEFAULT) : 0;
}

// Synthetic file of /proc/meminfo (proc_pid is a pid otherwise).
constexpr int kProcMeminfo = -1;

// /proc/meminfo, /proc/self/status, /proc/<pid>/status, and the fault-
// injection counter /proc/self/fail-nth, /proc/<pid>/fail-nth
// (mm/fault_inject.h).
Result<OpenFile*> open_proc(const char* path) {
  const char* p = path + 6;  // after "/proc/"
  int pid = -1;
  if (strcmp(p, "meminfo") == 0) {
    OpenFile* f = file_new(FileKind::kSynthetic);
    if (!f) return Errno::kENOMEM;
    f->proc_pid = kProcMeminfo;
    return f;
  }
  if (strncmp_prefix(p, "self/")) {
    pid = 0;
    p += 5;
  } else {
    int v = 0;
    const char* q = p;
    while (*q >= '0' && *q <= '9') v = v * 10 + (*q++ - '0');
    if (q == p || *q != '/') return Errno::kENOENT;
    pid = v;
    p = q + 1;
  }
  if (strcmp(p, "fail-nth") == 0) {
    uint32_t unused;
    if (!proc_fail_nth_read(pid, &unused)) return Errno::kENOENT;
    OpenFile* f = file_new(FileKind::kSynthetic);
    if (!f) return Errno::kENOMEM;
    f->proc_pid = pid == 0 ? cur()->pid : pid;
    f->fail_nth = true;
    return f;
  }
  if (strcmp(p, "status") != 0) return Errno::kENOENT;
  size_t len = 0;
  char* probe = proc_status_text(pid, &len);  // the task must exist now
  if (!probe) return Errno::kENOENT;
  kfree(probe);
  OpenFile* f = file_new(FileKind::kSynthetic);
  if (!f) return Errno::kENOMEM;
  f->proc_pid = pid == 0 ? cur()->pid : pid;
  return f;
}

int64_t sys_openat(int dirfd, uint64_t upath, uint32_t flags) {
  auto pr = get_path(upath);
  if (!pr.ok()) return e(pr.error());
  char* path = pr.value();
  OpenFile* f = nullptr;
  Errno err = Errno::kOk;
  if (strncmp_prefix(path, "/proc/")) {
    auto r = open_proc(path);
    if (r.ok())
      f = r.value();
    else
      err = r.error();
  } else if (strcmp(path, "/dev/console") == 0 || strcmp(path, "/dev/tty") == 0) {
    f = file_new(FileKind::kConsole);
    if (!f) err = Errno::kENOMEM;
  } else {
    auto r = resolve(dirfd, path, true);
    if (!r.ok()) {
      err = (r.error() == Errno::kENOENT && (flags & O_CREAT)) ? Errno::kEROFS : r.error();
    } else if ((flags & O_ACCMODE) != 0 || (flags & O_CREAT)) {
      err = r.value()->is_dir() ? Errno::kEISDIR : Errno::kEROFS;
    } else if ((flags & O_DIRECTORY) && !r.value()->is_dir()) {
      err = Errno::kENOTDIR;
    } else {
      f = file_new(FileKind::kNode);
      if (!f)
        err = Errno::kENOMEM;
      else
        f->node = r.value();
    }
  }
  kfree(path);
  if (!f) return e(err);
  f->flags = flags;
  auto ir = fd_install(cur()->files, f, flags & O_CLOEXEC);
  if (!ir.ok()) {
    file_put(f);
    return e(ir.error());
  }
  return ir.value();
}

// /proc/<pid>/fail-nth: the counter in decimal. No allocation on the way,
// so reading it does not count as (or trip) an injection point.
int64_t fail_nth_read(OpenFile* f, uint64_t ubuf, uint64_t len, uint64_t* pos) {
  uint32_t v;
  if (!proc_fail_nth_read(f->proc_pid, &v)) return e(Errno::kESRCH);
  char text[16];
  const size_t n = snformat(text, sizeof text, "%u\n", v);
  if (*pos >= n) return 0;
  const uint64_t m = n - *pos < len ? n - *pos : len;
  if (copy_to_user(ubuf, text + *pos, m)) return e(Errno::kEFAULT);
  *pos += m;
  return static_cast<int64_t>(m);
}

// Arms /proc/<pid>/fail-nth with a decimal count (0 disarms), like
// Linux's proc_fail_nth_write(); EINVAL for anything else.
int64_t fail_nth_write(OpenFile* f, uint64_t ubuf, uint64_t len) {
  char text[24];
  if (len == 0 || len >= sizeof text) return e(Errno::kEINVAL);
  if (copy_from_user(text, ubuf, len)) return e(Errno::kEFAULT);
  size_t n = len;
  while (n && (text[n - 1] == '\n' || text[n - 1] == ' ')) --n;
  const auto v = parse_u64(std::string_view(text, n));
  if (!v || *v > UINT32_MAX) return e(Errno::kEINVAL);
  if (!proc_fail_nth_write(f->proc_pid, static_cast<uint32_t>(*v))) return e(Errno::kESRCH);
  return static_cast<int64_t>(len);
}

// Reads from an open file at *pos (advancing it).
int64_t file_read(OpenFile* f, uint64_t ubuf, uint64_t len, uint64_t* pos) {
  switch (f->kind) {
    case FileKind::kConsole:
      return 0;  // the console has no input path for processes: end of file
    case FileKind::kPipeRead:
      return pipe_read(f->pipe, ubuf, len);
    case FileKind::kPipeWrite:
      return e(Errno::kEBADF);
    case FileKind::kSynthetic: {
      if (f->fail_nth) return fail_nth_read(f, ubuf, len, pos);
      if (!f->text) {
        // Like procfs, the text is made during the first read, after the
        // destination is resident, so it describes the process as the
        // reader sees it when read() returns.
        const uint64_t pre = len < kPageSize ? len : kPageSize;
        if (arch::fault_in_writeable(ubuf, pre)) return e(Errno::kEFAULT);
        size_t n = 0;
        f->text =
            f->proc_pid == kProcMeminfo ? proc_meminfo_text(&n) : proc_status_text(f->proc_pid, &n);
        if (!f->text) return e(Errno::kESRCH);
        f->text_len = n;
      }
      if (*pos >= f->text_len) return 0;
      const uint64_t n = f->text_len - *pos < len ? f->text_len - *pos : len;
      if (copy_to_user(ubuf, f->text + *pos, n)) return e(Errno::kEFAULT);
      *pos += n;
      return static_cast<int64_t>(n);
    }
    case FileKind::kNode: {
      if (f->node->is_dir()) return e(Errno::kEISDIR);
      const auto data = f->node->data;
      if (*pos >= data.size()) return 0;
      uint64_t n = data.size() - *pos < len ? data.size() - *pos : len;
      const size_t left = copy_to_user(ubuf, data.data() + *pos, n);
      if (left == n) return e(Errno::kEFAULT);
      n -= left;
      *pos += n;
      return static_cast<int64_t>(n);
    }
  }
  return e(Errno::kEINVAL);
}

// Writes bytes to the console, starting each line with the task's
// out_prefix.
void console_emit(Task* t, const char* s, size_t n) {
  if (!t->out_prefix) {
    console_write(s, n);
    return;
  }
  size_t start = 0;
  for (size_t i = 0; i < n; ++i) {
    if (t->out_bol) {
      if (i > start) console_write(s + start, i - start);
      start = i;
      console_write(t->out_prefix, strlen(t->out_prefix));
      t->out_bol = false;
    }
    if (s[i] == '\n') t->out_bol = true;
  }
  if (n > start) console_write(s + start, n - start);
}

int64_t console_write_user(uint64_t ubuf, uint64_t len) {
  char chunk[256];
  uint64_t done = 0;
  while (done < len) {
    const uint64_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
    const size_t left = copy_from_user(chunk, ubuf + done, n);
    if (n - left) console_emit(cur(), chunk, n - left);
    done += n - left;
    if (left) return done ? static_cast<int64_t>(done) : e(Errno::kEFAULT);
  }
  return static_cast<int64_t>(done);
}

int64_t sys_read(int fd, uint64_t ubuf, uint64_t len) {
  auto fr = fd_get(cur()->files, fd);
  if (!fr.ok()) return e(Errno::kEBADF);
  OpenFile* f = fr.value();
  if (!arch::access_ok(ubuf, len)) {
    file_put(f);
    return e(Errno::kEFAULT);
  }
  int64_t r;
  {
    uint64_t pos = f->pos;
    r = file_read(f, ubuf, len, &pos);
    f->pos = pos;
  }
  file_put(f);
  return r;
}

int64_t sys_pread(int fd, uint64_t ubuf, uint64_t len, int64_t off) {
  if (off < 0) return e(Errno::kEINVAL);
  auto fr = fd_get(cur()->files, fd);
  if (!fr.ok()) return e(Errno::kEBADF);
  OpenFile* f = fr.value();
  int64_t r;
  if (f->kind == FileKind::kConsole || f->pipe)
    r = e(Errno::kESPIPE);
  else if (!arch::access_ok(ubuf, len))
    r = e(Errno::kEFAULT);
  else {
    uint64_t pos = static_cast<uint64_t>(off);
    r = file_read(f, ubuf, len, &pos);
  }
  file_put(f);
  return r;
}

int64_t sys_write(int fd, uint64_t ubuf, uint64_t len) {
  auto fr = fd_get(cur()->files, fd);
  if (!fr.ok()) return e(Errno::kEBADF);
  OpenFile* f = fr.value();
  int64_t r;
  if (!arch::access_ok(ubuf, len))
    r = e(Errno::kEFAULT);
  else if (f->kind == FileKind::kConsole)
    r = console_write_user(ubuf, len);
  else if (f->kind == FileKind::kPipeWrite)
    r = pipe_write(f->pipe, ubuf, len);
  else if (f->kind == FileKind::kSynthetic && f->fail_nth)
    r = fail_nth_write(f, ubuf, len);
  else
    r = e(Errno::kEBADF);  // everything else is read-only
  const bool pipe = f->kind == FileKind::kPipeWrite;
  file_put(f);
  if (pipe && r == -32 /* EPIPE */) pipe_raise_sigpipe();
  return r;
}

struct IoVec {
  uint64_t base, len;
};

int64_t sys_rwv(int fd, uint64_t uiov, int64_t cnt, bool write) {
  if (cnt < 0 || cnt > 1024) return e(Errno::kEINVAL);
  int64_t total = 0;
  for (int64_t i = 0; i < cnt; ++i) {
    IoVec v;
    if (copy_from_user(&v, uiov + i * sizeof(IoVec), sizeof v)) return e(Errno::kEFAULT);
    if (v.len == 0) continue;
    const int64_t r = write ? sys_write(fd, v.base, v.len) : sys_read(fd, v.base, v.len);
    if (r < 0) return total ? total : r;
    total += r;
    if (static_cast<uint64_t>(r) < v.len) break;
  }
  return total;
}

int64_t sys_lseek(int fd, int64_t off, int whence) {
  auto fr = fd_get(cur()->files, fd);
  if (!fr.ok()) return e(Errno::kEBADF);
  OpenFile* f = fr.value();
  int64_t r;
  if (f->kind == FileKind::kConsole || f->pipe) {
    r = e(Errno::kESPIPE);
  } else {
    const int64_t size = f->kind == FileKind::kNode ? static_cast<int64_t>(f->node->data.size())
                                                    : static_cast<int64_t>(f->text_len);
    int64_t base = whence == 0   ? 0
                   : whence == 1 ? static_cast<int64_t>(f->pos)
                   : whence == 2 ? size
                                 : -1;
    if (base < 0 || (off < 0 && base + off < 0))
      r = e(Errno::kEINVAL);
    else {
      f->pos = static_cast<uint64_t>(base + off);
      r = base + off;
    }
  }
  file_put(f);
  return r;
}

int64_t sys_getdents64(int fd, uint64_t ubuf, uint64_t len) {
  auto fr = fd_get(cur()->files, fd);
  if (!fr.ok()) return e(Errno::kEBADF);
  OpenFile* f = fr.value();
  if (f->kind != FileKind::kNode || !f->node->is_dir()) {
    file_put(f);
    return e(Errno::kENOTDIR);
  }
  uint64_t used = 0;
  bool fault = false;
  auto r = initramfs::rootfs().readdir(
      f->node, f->pos, [&](std::string_view name, uint64_t ino, uint8_t type, uint64_t next) {
        // struct linux_dirent64: ino, off, reclen, type, name + NUL, 8-aligned.
        const uint64_t reclen = align_up(19 + name.size() + 1, 8);
        if (used + reclen > len) return false;
        uint8_t rec[19 + initramfs::kNameMax + 1 + 8] = {};
        memcpy(rec, &ino, 8);
        memcpy(rec + 8, &next, 8);
        const uint16_t rl = static_cast<uint16_t>(reclen);
        memcpy(rec + 16, &rl, 2);
        rec[18] = type;
        memcpy(rec + 19, name.data(), name.size());
        if (copy_to_user(ubuf + used, rec, reclen)) {
          fault = true;
          return false;
        }
        used += reclen;
        return true;
      });
  int64_t ret;
  if (fault)
    ret = e(Errno::kEFAULT);
  else if (!r.ok())
    ret = e(r.error());
  else {
    // Nothing fitted although entries remain: the buffer is too small.
    const bool more = used == 0 && [&] {
      uint64_t n = 0;
      initramfs::Tree::for_each_child(f->node, [&](const initramfs::Node*) { ++n; });
      return r.value() < n + 2;
    }();
    f->pos = r.value();
    ret = more ? e(Errno::kEINVAL) : static_cast<int64_t>(used);
  }
  file_put(f);
  return ret;
}

int64_t sys_fstat(int fd, uint64_t ubuf) {
  auto fr = fd_get(cur()->files, fd);
  if (!fr.ok()) return e(Errno::kEBADF);
  OpenFile* f = fr.value();
  KStat st = f->kind == FileKind::kConsole ? stat_of_console()
             : f->kind == FileKind::kNode  ? stat_of_node(f->node)
                                           : stat_of_synthetic(f);
  if (f->pipe) {
    st = KStat{};
    st.st_mode = 0010600;  // S_IFIFO | 0600
    st.st_nlink = 1;
    st.st_blksize = 4096;
  }
  file_put(f);
  return do_stat_out(ubuf, st);
}

int64_t sys_newfstatat(int dirfd, uint64_t upath, uint64_t ubuf, uint32_t flags) {
  auto pr = get_path(upath);
  if (!pr.ok()) return e(pr.error());
  char* path = pr.value();
  int64_t r;
  if (path[0] == 0 && (flags & AT_EMPTY_PATH)) {
    r = dirfd == AT_FDCWD ? do_stat_out(ubuf, stat_of_node(initramfs::rootfs().root()))
                          : sys_fstat(dirfd, ubuf);
  } else if (path[0] == 0) {
    r = e(Errno::kENOENT);
  } else {
    auto nr = resolve(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW));
    r = nr.ok() ? do_stat_out(ubuf, stat_of_node(nr.value())) : e(nr.error());
  }
  kfree(path);
  return r;
}

int64_t sys_faccessat(int dirfd, uint64_t upath, int mode) {
  auto pr = get_path(upath);
  if (!pr.ok()) return e(pr.error());
  auto nr = resolve(dirfd, pr.value(), true);
  kfree(pr.value());
  if (!nr.ok()) return e(nr.error());
  constexpr int kWOk = 2, kXOk = 1;  // W_OK, X_OK
  if (mode & kWOk) return e(Errno::kEROFS);
  if ((mode & kXOk) && !(nr.value()->mode & 0111)) return e(Errno::kEACCES);
  return 0;
}

int64_t sys_readlinkat(int dirfd, uint64_t upath, uint64_t ubuf, int64_t len) {
  if (len <= 0) return e(Errno::kEINVAL);
  auto pr = get_path(upath);
  if (!pr.ok()) return e(pr.error());
  auto nr = resolve(dirfd, pr.value(), false);
  kfree(pr.value());
  if (!nr.ok()) return e(nr.error());  // /proc/self/exe: ENOENT (no procfs links)
  if (!nr.value()->is_symlink()) return e(Errno::kEINVAL);
  const auto target = nr.value()->data;
  const uint64_t n = target.size() < static_cast<uint64_t>(len) ? target.size() : len;
  if (copy_to_user(ubuf, target.data(), n)) return e(Errno::kEFAULT);
  return static_cast<int64_t>(n);
}

int64_t sys_ioctl(int fd, uint64_t req, uint64_t arg) {
  constexpr uint64_t TCGETS = 0x5401, TIOCGWINSZ = 0x5413;
  auto fr = fd_get(cur()->files, fd);
  if (!fr.ok()) return e(Errno::kEBADF);
  const bool console = fr.value()->kind == FileKind::kConsole;
  file_put(fr.value());
  if (!console) return e(Errno::kENOTTY);
  if (req == TCGETS) {
    // struct termios (asm-generic/termbits.h): iflag, oflag, cflag, lflag,
    // line, cc[19]. ICRNL | OPOST|ONLCR | B115200|CS8|CREAD | ISIG|ICANON|ECHO.
    uint8_t t[36] = {};
    const uint32_t flags[4] = {0400, 01 | 04, 0010002 | 060 | 0200, 01 | 02 | 010};
    memcpy(t, flags, sizeof flags);
    return copy_to_user(arg, t, sizeof t) ? e(Errno::kEFAULT) : 0;
  }
  if (req == TIOCGWINSZ) {
    const uint16_t ws[4] = {24, 80, 0, 0};
    return copy_to_user(arg, ws, sizeof ws) ? e(Errno::kEFAULT) : 0;
  }
  return e(Errno::kENOTTY);
}

int64_t sys_uname(uint64_t ubuf) {
  // struct new_utsname: six 65-byte fields.
  char u[6][65] = {};
  const char* v[6] = {"Linux", "rvkernel", "6.1.0-rvkernel", "#1 SMP", "riscv64", "(none)"};
  for (int i = 0; i < 6; ++i) memcpy(u[i], v[i], strlen(v[i]));
  return copy_to_user(ubuf, u, sizeof u) ? e(Errno::kEFAULT) : 0;
}

int64_t sys_clock_gettime(int clk, uint64_t uts) {
  uint64_t ns;
  switch (clk) {
    case 0:
    case 1:
    case 4:
    case 5:
    case 6:
    case 7:
      ns = arch::uptime_ns();
      break;
    case 2:
    case 3: {
      const Task* t = cur();
      ns = (t->utime_ticks + t->stime_ticks) * (1000000000ull / kHz);
      break;
    }
    default:
      return e(Errno::kEINVAL);
  }
  const int64_t ts[2] = {static_cast<int64_t>(ns / 1000000000ull),
                         static_cast<int64_t>(ns % 1000000000ull)};
  return copy_to_user(uts, ts, sizeof ts) ? e(Errno::kEFAULT) : 0;
}

int64_t sys_nanosleep(uint64_t ureq) {
  int64_t ts[2];
  if (copy_from_user(ts, ureq, sizeof ts)) return e(Errno::kEFAULT);
  if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) return e(Errno::kEINVAL);
  const uint64_t deadline = arch::uptime_ns() + static_cast<uint64_t>(ts[0]) * 1000000000ull +
                            static_cast<uint64_t>(ts[1]);
  return sleep_until_ns(deadline) ? 0 : e(Errno::kEINTR);
}

int64_t sys_getrandom(uint64_t ubuf, uint64_t len, uint32_t flags) {
  if (flags & ~7u) return e(Errno::kEINVAL);
  // Linux caps one read at MAX_RW_COUNT (INT_MAX & PAGE_MASK).
  constexpr uint64_t kMaxRwCount = 0x7ffff000;
  if (len > kMaxRwCount) len = kMaxRwCount;
  static std::atomic<uint64_t> state{0x243f6a8885a308d3ull};
  uint64_t chunk[32];
  uint64_t done = 0;
  while (done < len) {
    // The kernel is not preemptible: a long request gives the CPU up and
    // stops for SIGKILL every page, as Linux's get_random_bytes_user does
    // (a 100 MB getrandom from the syscall fuzzer stalled its hart).
    if (done && done % kPageSize == 0) {
      if (cur()->killed.load()) break;
      sched_yield();
    }
    for (uint64_t& z : chunk) {
      z = state.fetch_add(0x9e3779b97f4a7c15ull) ^ arch::read_time();
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
    }
    const uint64_t n = len - done < sizeof chunk ? len - done : sizeof chunk;
    const size_t left = copy_to_user(ubuf + done, chunk, n);
    done += n - left;
    if (left) return done ? static_cast<int64_t>(done) : e(Errno::kEFAULT);
  }
  return static_cast<int64_t>(done);
}

int64_t sys_prlimit64(int pid, unsigned resource, uint64_t unew, uint64_t uold) {
  if (pid != 0 && pid != cur()->pid) return e(Errno::kESRCH);
  constexpr unsigned RLIMIT_STACK = 3, RLIMIT_NOFILE = 7, RLIM_NLIMITS = 16;
  if (resource >= RLIM_NLIMITS) return e(Errno::kEINVAL);
  const uint64_t inf = ~uint64_t{0};
  uint64_t cur_lim[2] = {inf, inf};
  if (resource == RLIMIT_STACK) cur_lim[0] = kStackLimit;
  if (resource == RLIMIT_NOFILE) cur_lim[0] = cur_lim[1] = kMaxFds;
  if (unew) {
    uint64_t nl[2];
    if (copy_from_user(nl, unew, sizeof nl)) return e(Errno::kEFAULT);
    if (nl[0] > nl[1]) return e(Errno::kEINVAL);
    // Limits are fixed here; raising one above its maximum is EPERM.
    if (nl[1] > cur_lim[1]) return e(Errno::kEPERM);
  }
  if (uold && copy_to_user(uold, cur_lim, sizeof cur_lim)) return e(Errno::kEFAULT);
  return 0;
}

int64_t sys_rt_sigaction(int sig, uint64_t uact, uint64_t uold, uint64_t sigsetsize) {
  if (sigsetsize != 8) return e(Errno::kEINVAL);
  if (sig < 1 || sig > static_cast<int>(kNrSignals)) return e(Errno::kEINVAL);
  SigAction& sa = cur()->sigactions[sig - 1];
  // struct sigaction (riscv64 kernel ABI): handler, flags, mask (no
  // restorer field on riscv).
  uint64_t k_old[3] = {sa.handler, sa.flags, sa.mask};
  if (uact) {
    if (sig == kSigKill || sig == 19 /* SIGSTOP */) return e(Errno::kEINVAL);
    uint64_t k_new[3];
    if (copy_from_user(k_new, uact, sizeof k_new)) return e(Errno::kEFAULT);
    sa.handler = k_new[0];
    sa.flags = k_new[1];
    sa.mask = k_new[2];
  }
  if (uold && copy_to_user(uold, k_old, sizeof k_old)) return e(Errno::kEFAULT);
  return 0;
}

int64_t sys_rt_sigprocmask(int how, uint64_t uset, uint64_t uold, uint64_t sigsetsize) {
  if (sigsetsize != 8) return e(Errno::kEINVAL);
  Task* t = cur();
  const uint64_t old = t->sigmask;
  if (uset) {
    uint64_t s;
    if (copy_from_user(&s, uset, 8)) return e(Errno::kEFAULT);
    s &= ~((uint64_t{1} << (kSigKill - 1)) | (uint64_t{1} << (19 - 1)));
    switch (how) {
      case 0:
        t->sigmask |= s;
        break;
      case 1:
        t->sigmask &= ~s;
        break;
      case 2:
        t->sigmask = s;
        break;
      default:
        return e(Errno::kEINVAL);
    }
  }
  if (uold && copy_to_user(uold, &old, 8)) return e(Errno::kEFAULT);
  return 0;
}

// execve: copies the argument vectors into kernel memory, then execs.
int64_t sys_execve(uint64_t upath, uint64_t uargv, uint64_t uenvp) {
  auto pr = get_path(upath);
  if (!pr.ok()) return e(pr.error());
  char* path = pr.value();
  // One buffer: pointer arrays then strings.
  char* strings = static_cast<char*>(kmalloc(kMaxArgBytes, GFP_KERNEL));
  auto** ptrs =
      static_cast<const char**>(kmalloc((kMaxArgStrings + 2) * sizeof(char*), GFP_KERNEL));
  int64_t ret = 0;
  size_t used = 0, np = 0;
  const char** argv = ptrs;
  const char** envp = nullptr;
  if (!strings || !ptrs) {
    ret = e(Errno::kENOMEM);
    goto out;
  }
  for (int pass = 0; pass < 2 && ret == 0; ++pass) {
    const uint64_t uvec = pass == 0 ? uargv : uenvp;
    if (pass == 1) {
      ptrs[np++] = nullptr;
      envp = ptrs + np;
    }
    for (uint64_t i = 0; uvec; ++i) {
      auto p = arch::get_user<uint64_t>(uvec + i * 8);
      if (!p.ok()) {
        ret = e(Errno::kEFAULT);
        break;
      }
      if (!p.value()) break;
      if (np >= kMaxArgStrings) {
        ret = e(Errno::kE2BIG);
        break;
      }
      auto n = arch::strncpy_from_user(strings + used, p.value(), kMaxArgBytes - used);
      if (!n.ok()) {
        ret = e(Errno::kEFAULT);
        break;
      }
      if (used + n.value() >= kMaxArgBytes) {
        ret = e(Errno::kE2BIG);
        break;
      }
      ptrs[np++] = strings + used;
      used += n.value() + 1;
    }
  }
  if (ret == 0) {
    ptrs[np] = nullptr;
    auto r = exec_into(cur(), path, argv, envp);
    ret = r.ok() ? 0 : e(r.error());
  }
out:
  kfree(strings);
  kfree(ptrs);
  kfree(path);
  return ret;
}

}  // namespace

int64_t syscall_dispatch(arch::TrapFrame& tf) {
  const uint64_t nr = tf.regs[17];
  const uint64_t a0 = tf.regs[10], a1 = tf.regs[11], a2 = tf.regs[12], a3 = tf.regs[13],
                 a4 = tf.regs[14], a5 = tf.regs[15];
  Task* t = cur();
  MmStruct* mm = t->mm;
  switch (nr) {
    case NR_read:
      return sys_read(static_cast<int>(a0), a1, a2);
    case NR_write:
      return sys_write(static_cast<int>(a0), a1, a2);
    case NR_readv:
      return sys_rwv(static_cast<int>(a0), a1, static_cast<int64_t>(a2), false);
    case NR_writev:
      return sys_rwv(static_cast<int>(a0), a1, static_cast<int64_t>(a2), true);
    case NR_pread64:
      return sys_pread(static_cast<int>(a0), a1, a2, static_cast<int64_t>(a3));
    case NR_openat:
      return sys_openat(static_cast<int>(a0), a1, static_cast<uint32_t>(a2));
    case NR_close: {
      auto r = fd_close(t->files, static_cast<int>(a0));
      return r.ok() ? 0 : e(r.error());
    }
    case NR_lseek:
      return sys_lseek(static_cast<int>(a0), static_cast<int64_t>(a1), static_cast<int>(a2));
    case NR_getdents64:
      return sys_getdents64(static_cast<int>(a0), a1, a2);
    case NR_fstat:
      return sys_fstat(static_cast<int>(a0), a1);
    case NR_newfstatat:
      return sys_newfstatat(static_cast<int>(a0), a1, a2, static_cast<uint32_t>(a3));
    case NR_faccessat:
      return sys_faccessat(static_cast<int>(a0), a1, static_cast<int>(a2));
    case NR_readlinkat:
      return sys_readlinkat(static_cast<int>(a0), a1, a2, static_cast<int64_t>(a3));
    case NR_ioctl:
      return sys_ioctl(static_cast<int>(a0), a1, a2);
    case NR_pipe2: {
      if (a1 & ~uint64_t{O_CLOEXEC | 04000 /* O_NONBLOCK */}) return e(Errno::kEINVAL);
      OpenFile *rd, *wr;
      auto pr = pipe_create(&rd, &wr);
      if (!pr.ok()) return e(pr.error());
      const bool cloexec = a1 & O_CLOEXEC;
      auto r0 = fd_install(t->files, rd, cloexec);
      if (!r0.ok()) {
        file_put(rd);
        file_put(wr);
        return e(r0.error());
      }
      auto r1 = fd_install(t->files, wr, cloexec);
      if (!r1.ok()) {
        (void)fd_close(t->files, r0.value());
        file_put(wr);
        return e(r1.error());
      }
      const int32_t fds[2] = {r0.value(), r1.value()};
      if (copy_to_user(a0, fds, sizeof fds)) {
        (void)fd_close(t->files, r0.value());
        (void)fd_close(t->files, r1.value());
        return e(Errno::kEFAULT);
      }
      return 0;
    }
    case NR_dup3: {
      const int oldfd = static_cast<int>(a0), newfd = static_cast<int>(a1);
      if (oldfd == newfd || (a2 & ~uint64_t{O_CLOEXEC})) return e(Errno::kEINVAL);
      if (newfd < 0 || newfd >= kMaxFds) return e(Errno::kEBADF);
      auto fr = fd_get(t->files, oldfd);
      if (!fr.ok()) return e(Errno::kEBADF);
      OpenFile* old = nullptr;
      {
        IrqSpinLockGuard g(t->files->lock);
        old = t->files->fds[newfd];
        t->files->fds[newfd] = fr.value();
        t->files->cloexec[newfd] = a2 & O_CLOEXEC;
      }
      file_put(old);
      return newfd;
    }
    case NR_dup: {
      auto fr = fd_get(t->files, static_cast<int>(a0));
      if (!fr.ok()) return e(Errno::kEBADF);
      auto ir = fd_install(t->files, fr.value(), false);
      if (!ir.ok()) file_put(fr.value());
      return ir.ok() ? ir.value() : e(ir.error());
    }
    case NR_fcntl: {
      constexpr uint64_t F_GETFD = 1, F_SETFD = 2, F_GETFL = 3;
      auto fr = fd_get(t->files, static_cast<int>(a0));
      if (!fr.ok()) return e(Errno::kEBADF);
      const uint32_t fl = fr.value()->flags;
      file_put(fr.value());
      if (a1 == F_GETFD) return t->files->cloexec[a0] ? 1 : 0;
      if (a1 == F_SETFD) {
        t->files->cloexec[a0] = a2 & 1;
        return 0;
      }
      if (a1 == F_GETFL) return fl;
      return e(Errno::kEINVAL);
    }
    case NR_getcwd: {
      if (a1 < 2) return e(Errno::kERANGE);
      return copy_to_user(a0, "/", 2) ? e(Errno::kEFAULT) : static_cast<int64_t>(2);
    }
    case NR_exit:
    case NR_exit_group:
      do_exit(wait_status_exited(static_cast<int>(a0)));
    case NR_set_tid_address:
      t->clear_child_tid = a0;
      return t->pid;
    case NR_set_robust_list:
      if (a1 != 24) return e(Errno::kEINVAL);  // sizeof(struct robust_list_head)
      t->robust_list = a0;
      return 0;
    case NR_rseq:
      return e(Errno::kENOSYS);  // glibc runs without rseq
    case NR_uname:
      return sys_uname(a0);
    case NR_getrandom:
      return sys_getrandom(a0, a1, static_cast<uint32_t>(a2));
    case NR_prlimit64:
      return sys_prlimit64(static_cast<int>(a0), static_cast<unsigned>(a1), a2, a3);
    case NR_getrlimit:
      return sys_prlimit64(0, static_cast<unsigned>(a0), 0, a1);
    case NR_getuid:
    case NR_geteuid:
    case NR_getgid:
    case NR_getegid:
      return 0;
    case NR_getpid:
    case NR_gettid:
      return t->pid;
    case NR_getppid:
      return t->parent ? t->parent->pid : 0;
    case NR_clock_gettime:
      return sys_clock_gettime(static_cast<int>(a0), a1);
    case NR_clock_getres: {
      if (a0 > 7) return e(Errno::kEINVAL);
      const int64_t res[2] = {0, 1};
      return a1 && copy_to_user(a1, res, sizeof res) ? e(Errno::kEFAULT) : 0;
    }
    case NR_nanosleep:
      return sys_nanosleep(a0);
    case NR_clock_nanosleep:
      if (a1 != 0) return e(Errno::kEINVAL);  // relative sleeps only
      return sys_nanosleep(a2);
    case NR_sched_yield:
      sched_yield();
      return 0;
    case NR_kill: {
      auto r = do_kill(static_cast<int>(a0), static_cast<int>(a1));
      return r.ok() ? 0 : e(r.error());
    }
    case NR_tkill:
    case NR_tgkill: {
      // abort() raises SIGABRT at itself: no handlers run here, so the
      // default action (terminate) applies.
      const int sig = static_cast<int>(nr == NR_tkill ? a1 : a2);
      const int tid = static_cast<int>(nr == NR_tkill ? a0 : a1);
      // Linux kernel/signal.c: a signal number outside 0..64 is EINVAL
      // (checked first: it indexes sigactions below).
      if (sig < 0 || sig > static_cast<int>(kNrSignals)) return e(Errno::kEINVAL);
      if (tid != t->pid || (nr == NR_tgkill && static_cast<int>(a0) != t->pid))
        return e(Errno::kESRCH);
      if (sig == 0) return 0;
      if (t->sigactions[sig - 1].handler == 1) return 0;
      do_exit(wait_status_signaled(sig));
    }
    case NR_rt_sigaction:
      return sys_rt_sigaction(static_cast<int>(a0), a1, a2, a3);
    case NR_rt_sigprocmask:
      return sys_rt_sigprocmask(static_cast<int>(a0), a1, a2, a3);
    case NR_sigaltstack:
      return 0;
    case NR_brk:
      return sys_brk(mm, a0);
    case NR_mmap:
      return sys_mmap(mm, t->files, a0, a1, a2, a3, static_cast<int>(a4), a5);
    case NR_munmap:
      return sys_munmap(mm, a0, a1);
    case NR_mprotect:
      return sys_mprotect(mm, a0, a1, a2);
    case NR_madvise:
      return sys_madvise(mm, a0, a1, static_cast<int>(a2));
    case NR_mremap:
      return sys_mremap(mm, a0, a1, a2, a3, a4);
    case NR_clone: {
      auto r = do_fork(a0, a1, a4);
      if (r.ok() && (a0 & 0x00100000) && a2) (void)arch::put_user<int32_t>(r.value(), a2);
      return r.ok() ? r.value() : e(r.error());
    }
    case NR_clone3:
      return e(Errno::kENOSYS);  // glibc falls back to clone
    case NR_execve:
      return sys_execve(a0, a1, a2);
    case NR_wait4: {
      if (a3) {
        // struct rusage: zeroed (no resource accounting per child).
        uint8_t ru[144] = {};
        if (copy_to_user(a3, ru, sizeof ru)) return e(Errno::kEFAULT);
      }
      int status = 0;
      auto r = do_wait4(static_cast<int>(a0), &status, static_cast<int>(a2));
      if (!r.ok()) return e(r.error());
      if (a1 && r.value() > 0 && arch::put_user<int32_t>(status, a1).error() != Errno::kOk)
        return e(Errno::kEFAULT);
      return r.value();
    }
    case NR_futex:
      return e(Errno::kENOSYS);
    case NR_riscv_flush_icache:
      // Linux arch/riscv: flags 0 (all threads) or SYS_RISCV_FLUSH_ICACHE_LOCAL.
      // One thread per process and no migration: this hart is enough.
      if (a2 & ~uint64_t{1}) return e(Errno::kEINVAL);
      arch::flush_icache_local();
      return 0;
    default:
      return unknown(nr);
  }
}

}  // namespace k
