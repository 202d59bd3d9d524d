// What a gate does when its key-value store does not answer (its `on_store_failure`): refuse the
// request (503), allow it without what the store would have said, or ask this instance's own
// in-process store (the shared store's fallback).
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "state/kv/kv_fallback.h"

namespace rampart::state {

enum class StoreFailure : std::uint8_t { kRefuse, kAllow, kLocal };

// The words `on_store_failure` takes, for config::Fields::Choice.
inline std::vector<std::pair<std::string_view, StoreFailure>> StoreFailureChoices() {
  return {{"refuse", StoreFailure::kRefuse},
          {"allow", StoreFailure::kAllow},
          {"local", StoreFailure::kLocal}};
}

// The store fallback that `f` asks of Stores::Kv.
inline KvOnFailure KvFailureFor(StoreFailure f) noexcept {
  return f == StoreFailure::kLocal ? KvOnFailure::kLocal : KvOnFailure::kFail;
}

}  // namespace rampart::state
