// An API key as rampart keeps it: never the key itself, only its SHA-256, with what it grants
// (principal, tier, roles, scopes) and when it ends. Records live in a keys file or in the
// key-value store (as JSON under "key:<sha256 hex>", with "id:<id>" naming the hash).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/secrets.h"

namespace rampart::api_key {

struct ApiKey {
  std::string id;  // what logs, metrics and listings name it by
  Sha256Digest hash{};
  std::string principal;
  std::string tier;
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::int64_t expires = 0;  // seconds since the epoch; 0: never
  std::int64_t created = 0;
};

// The record as stored (with the hash) or listed (without it).
std::string ToJson(const ApiKey& k, bool with_hash);
// False with `error` when `json` is not a record.
bool FromJson(std::string_view json, ApiKey& out, std::string& error);
// "2027-01-01T00:00:00Z" or seconds since the epoch; false otherwise.
bool ParseExpiry(std::string_view text, std::int64_t& out);

// Ids: 1-64 characters of [A-Za-z0-9._-].
bool ValidId(std::string_view id) noexcept;

}  // namespace rampart::api_key
