// libFuzzer target: arbitrary bytes as a cache entry read back from the shared store. No crash,
// no read out of bounds, no declared length trusted, and what decodes encodes
// back to the same bytes (one encoding per entry) and decodes again to the same entry, field by
// field.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gates/cache/entry_codec.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace cache = rampart::cache;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  cache::CachedResponse entry;
  if (!cache::DecodeEntry(in, entry)) return 0;
  std::string again;
  cache::EncodeEntry(entry, again);
  Check(again == in);
  cache::CachedResponse back;
  Check(cache::DecodeEntry(again, back));
  Check(back.status == entry.status);
  Check(back.headers == entry.headers);
  Check(back.body == entry.body);
  Check(back.request_time == entry.request_time);
  Check(back.response_time == entry.response_time);
  Check(back.lifetime == entry.lifetime);
  Check(back.stale_while_revalidate == entry.stale_while_revalidate);
  Check(back.stale_if_error == entry.stale_if_error);
  Check(back.vary_names == entry.vary_names);
  Check(back.vary_values == entry.vary_values);
  Check(back.tags == entry.tags);
  Check(back == entry);
  return 0;
}
