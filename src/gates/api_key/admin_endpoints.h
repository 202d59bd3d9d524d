// The api_key gate's admin endpoints (on the admin listener, for a gate with a `store`):
//   POST /admin/api_keys          {"principal", "id"?, "tier"?, "roles"?, "scopes"?,
//                                  "expires_in"? (seconds) | "expires"?}  -> 201, the key once
//   GET  /admin/api_keys          every key, file and store, without secrets or hashes
//   POST /admin/api_keys/revoke   {"id"}                                  -> 200 or 404
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "admin/admin_actions.h"
#include "gates/api_key/key_record.h"
#include "state/kv/kv_store.h"

namespace rampart::api_key {

void AddAdminEndpoints(admin::AdminActions& admin, std::shared_ptr<state::KvStore> store,
                       const std::string& store_key, std::vector<ApiKey> file_keys,
                       std::int64_t (*clock)());

}  // namespace rampart::api_key
