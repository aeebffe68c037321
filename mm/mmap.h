// Memory system calls with Linux semantics and errnos (mm/mmap.c,
// mm/mprotect.c, mm/mremap.c, mm/madvise.c): brk, mmap, munmap, mprotect,
// madvise(MADV_DONTNEED), mremap. Each works on the calling process and
// returns the syscall value (-errno on failure).
#pragma once

#include <cstdint>

namespace k {

struct MmStruct;
struct FileTable;

// mmap flags and protections (Linux uapi mman-common.h / mman.h).
inline constexpr uint64_t PROT_READ = 0x1, PROT_WRITE = 0x2, PROT_EXEC = 0x4;
inline constexpr uint64_t MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_SHARED_VALIDATE = 0x03,
                          MAP_TYPE = 0x0f, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
                          MAP_GROWSDOWN = 0x0100, MAP_DENYWRITE = 0x0800, MAP_EXECUTABLE = 0x1000,
                          MAP_LOCKED = 0x2000, MAP_NORESERVE = 0x4000, MAP_POPULATE = 0x8000,
                          MAP_NONBLOCK = 0x10000, MAP_STACK = 0x20000, MAP_HUGETLB = 0x40000,
                          MAP_FIXED_NOREPLACE = 0x100000;
inline constexpr uint64_t MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
inline constexpr int MADV_NORMAL = 0, MADV_RANDOM = 1, MADV_SEQUENTIAL = 2, MADV_WILLNEED = 3,
                     MADV_DONTNEED = 4, MADV_FREE = 8;

int64_t sys_brk(MmStruct* mm, uint64_t addr);
int64_t sys_mmap(MmStruct* mm, FileTable* files, uint64_t addr, uint64_t len, uint64_t prot,
                 uint64_t flags, int fd, uint64_t off);
int64_t sys_munmap(MmStruct* mm, uint64_t addr, uint64_t len);
int64_t sys_mprotect(MmStruct* mm, uint64_t addr, uint64_t len, uint64_t prot);
int64_t sys_madvise(MmStruct* mm, uint64_t addr, uint64_t len, int advice);
int64_t sys_mremap(MmStruct* mm, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
                   uint64_t flags, uint64_t new_addr);

}  // namespace k
