// A limit's key for one request: the limit's name and its key parts, joined into bytes and hashed.
#pragma once

#include <cstdint>
#include <string>

#include "gates/rate_limit/rate_limit_config.h"
#include "pipeline/exchange.h"

namespace rampart::rate_limit {

enum class KeyResult {
  kComplete,
  kMissing,    // a part is absent from the request (no such header, no principal, ...): "-"
  kAmbiguous,  // a header or query part has two different values: which would the origin use?
};

// Writes the key's bytes into `out`. A query part is matched and read as the origin's form
// decoder reads it (`us%65r=b%6fb` is user=bob); a header or query part sent twice with different
// values is kAmbiguous (the gate refuses the request), so no second value makes a fresh bucket.
KeyResult BuildKey(const LimitConfig& limit, const Exchange& ex, std::string& out);

// Query parameter `name`'s value, percent-decoded ('+' is a space), into `out`: kMissing when
// absent, kAmbiguous when present twice with different values.
KeyResult QueryParam(std::string_view query, std::string_view name, std::string& out);

}  // namespace rampart::rate_limit
