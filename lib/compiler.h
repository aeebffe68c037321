// Compiler attributes shared by kernel code.
#pragma once

// Boot-only code: placed in .init.text, given back to the page allocator
// (and unmapped from the image) after boot. Never call it afterwards.
#define __init [[gnu::section(".init.text"), gnu::cold]]
// Boot-only data.
#define __initdata [[gnu::section(".init.data")]]

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
