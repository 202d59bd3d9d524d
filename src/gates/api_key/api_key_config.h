// The api_key gate's settings and its keys file.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/fields.h"
#include "gates/api_key/key_record.h"
#include "state/kv/store_failure.h"

namespace rampart::api_key {

using state::StoreFailure;

struct ApiKeyConfig {
  std::string header = "x-api-key";  // "" turns it off
  std::string query;                 // a query parameter carrying the key
  std::string keys_file;             // hashed keys, read at load and at each reload
  bool store = false;                // keys added through the admin API, in the key-value store
  bool store_shared = false;         // on Redis
  StoreFailure on_store_failure = StoreFailure::kRefuse;
  bool hide_credentials = true;  // the key never reaches the upstream
  bool allow_anonymous = false;
  std::string forward_header;  // the key's id, upstream
};

const config::Fields<ApiKeyConfig>& ApiKeyFields();

// Reads a keys file: `keys: [{id, sha256, principal, tier, roles, scopes, expires}]`. Errors name
// the file and line.
bool ReadKeysFile(const std::string& path, std::vector<ApiKey>& out,
                  std::vector<config::ConfigError>& errors);

}  // namespace rampart::api_key
