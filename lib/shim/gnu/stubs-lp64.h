/* glibc ships only stubs-lp64d.h; the kernel is lp64 and needs none of it. */
