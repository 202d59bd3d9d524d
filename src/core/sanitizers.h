// RAMPART_ASAN: 1 when AddressSanitizer instruments this build (GCC's or clang's), else 0. Code
// that keeps freed memory for reuse turns that off under it, so a use after free is still caught.
#pragma once

#if defined(__SANITIZE_ADDRESS__)  // GCC
#define RAMPART_ASAN 1
#elif defined(__has_feature)  // clang
#if __has_feature(address_sanitizer)
#define RAMPART_ASAN 1
#endif
#endif
#ifndef RAMPART_ASAN
#define RAMPART_ASAN 0
#endif
