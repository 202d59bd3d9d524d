// The idempotency gate's settings.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/fields.h"
#include "state/kv/store_failure.h"

namespace rampart::idempotency {

using state::StoreFailure;

struct KeyFileConfig {
  std::string id;
  std::string file;
};

struct IdempotencyConfig {
  std::vector<std::string> methods = {"POST", "PATCH"};
  std::string header = "idempotency-key";
  bool required = false;  // a configured method without the header gets 400
  std::uint64_t max_key_length = 255;
  std::chrono::milliseconds lease{std::chrono::seconds(60)};    // in flight, then retryable
  std::chrono::milliseconds retention{std::chrono::hours(24)};  // completed answers kept
  std::uint64_t max_body = 1 << 20;      // request bytes hashed into the fingerprint
  std::uint64_t max_response = 1 << 20;  // larger answers are stored without replay
  bool wait = false;                     // a duplicate in flight waits and replays (else 409)
  std::chrono::milliseconds wait_timeout{std::chrono::seconds(10)};
  std::chrono::seconds retry_after{1};     // the 409's Retry-After
  bool release_on_connect_failure = true;  // the origin never got it: the key may be used again
  bool release_on_server_error = false;    // any 5xx: the key may be used again
  bool store_shared = false;               // store: redis
  // The in-process store's bound (records and fencing counters; expired ones are swept when
  // full). Full of live keys, it answers "unavailable" (on_store_failure) rather than drop one.
  std::uint64_t max_records = 100'000;
  StoreFailure on_store_failure = StoreFailure::kRefuse;
  std::string fencing_header;  // sends the holder's fencing token upstream under this name
  std::vector<KeyFileConfig> encryption_keys;  // the first seals
};

const config::Fields<IdempotencyConfig>& IdempotencyFields();

}  // namespace rampart::idempotency
