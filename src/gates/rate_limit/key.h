// A limit's key for one request: the limit's name and its key parts, joined into bytes and hashed.
#pragma once

#include <cstdint>
#include <string>

#include "gates/rate_limit/rate_limit_config.h"
#include "pipeline/exchange.h"

namespace rampart::rate_limit {

// Writes the key's bytes into `out`; returns false when a part is absent from the request (no
// such header, no principal, ...), in which case that part is written as "-".
bool BuildKey(const LimitConfig& limit, const Exchange& ex, std::string& out);

// The value of query parameter `name` in a raw query string (first occurrence, not decoded).
std::string_view QueryParam(std::string_view query, std::string_view name) noexcept;

}  // namespace rampart::rate_limit
