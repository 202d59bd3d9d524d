// One stored response of the cache: what a hit serves and what decides whether it may. Plain
// data, apart from the store (cache_store.h) and its wire form (entry_codec.h), so the codec
// library and its fuzz target can use it without the store's locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace rampart::cache {

struct CachedResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // end-to-end fields, as received
  std::string body;
  std::chrono::system_clock::time_point request_time;   // the fetch's request was sent
  std::chrono::system_clock::time_point response_time;  // its answer arrived
  std::chrono::seconds lifetime{0};                     // freshness lifetime (cache_control.h)
  std::chrono::seconds stale_while_revalidate{0};
  std::chrono::seconds stale_if_error{0};
  // The request header names the response's Vary lists (lower case), and the request's values
  // for them, joined with '\n' (absent fields as empty values): a lookup matches a variant when
  // the new request's values for the same names join to the same string.
  std::vector<std::string> vary_names;
  std::string vary_values;
  std::vector<std::string> tags;  // from the route's tag header, for purges
  // Bytes this entry is charged: body + header names and values + key + a fixed overhead.
  std::size_t Charge(std::size_t key_size) const noexcept;

  bool operator==(const CachedResponse&) const = default;
};

}  // namespace rampart::cache
