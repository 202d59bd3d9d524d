#include "net/tls/openssl_memory.h"

#include <openssl/crypto.h>

#include "core/c_memory.h"

namespace rampart::net::tls {

namespace {

void* Malloc(std::size_t size, const char*, int) {
  // OpenSSL's own CRYPTO_malloc answers a request for nothing with nullptr; so does this.
  return size == 0 ? nullptr : core::CMalloc(size);
}
void* Realloc(void* p, std::size_t size, const char*, int) {
  if (p == nullptr && size == 0) return nullptr;  // as Malloc(0)
  return core::CRealloc(p, size);
}
void Free(void* p, const char*, int) { core::CFree(p); }

}  // namespace

bool RouteOpenSslAllocations() noexcept {
  return CRYPTO_set_mem_functions(&Malloc, &Realloc, &Free) == 1;
}

}  // namespace rampart::net::tls
