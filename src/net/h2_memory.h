// nghttp2's allocations through core/c_memory.h (the program's operator new). A session makes
// about four per stream (the stream's state, its outbound frames, the copied header block), and
// with glibc's malloc those went through its bins; the per-thread cache of freed blocks serves
// them as it serves Asio's coroutine frames.
#pragma once

#include <nghttp2/nghttp2.h>

namespace rampart::net {

// For nghttp2_session_server_new3 / nghttp2_session_client_new3.
nghttp2_mem* H2Memory() noexcept;

}  // namespace rampart::net
