// OpenSSL's allocations through core/c_memory.h (the program's operator new). A TLS connection
// allocates several blocks per record it writes or reads (about six per proxied HTTP/2 request in
// the h2_tls_c64m10 benchmark); the per-thread cache of freed blocks serves them without
// malloc's bins.
#pragma once

namespace rampart::net::tls {

// Must run before OpenSSL allocates anything (first in main): OpenSSL refuses new functions
// after its first allocation, and then keeps its own. Returns whether they were taken.
bool RouteOpenSslAllocations() noexcept;

}  // namespace rampart::net::tls
