#include "gates/cache/cached_response.h"

namespace rampart::cache {

namespace {
// The charge's fixed part: an entry's bookkeeping beyond its bytes.
constexpr std::size_t kFixedOverheadBytes = 256;
}  // namespace

std::size_t CachedResponse::Charge(std::size_t key_size) const noexcept {
  std::size_t n = body.size() + vary_values.size() + key_size + kFixedOverheadBytes;
  for (const auto& [name, value] : headers) n += name.size() + value.size();
  for (const std::string& tag : tags) n += tag.size();
  return n;
}

}  // namespace rampart::cache
