// virtio-rng (Virtio 1.1 spec 5.4, "entropy device"): one queue of
// device-writable buffers the device fills with random bytes. The first
// probed device serves hwrng_read().
#pragma once

#include <cstddef>

#include "lib/result.h"

namespace k {

// Fills up to len bytes of buf (any kernel memory) with device entropy;
// returns how many bytes the device provided (>= 1). ENODEV without a
// device, EIO on a device error or a 1 s timeout, ENOMEM.
Result<size_t> hwrng_read(void* buf, size_t len);
bool hwrng_present();

}  // namespace k
