// POST /admin/cache/purge: drops entries of a cache zone by URL, URL prefix or tag.
#pragma once

#include <memory>
#include <string>

#include "admin/admin_actions.h"
#include "gates/cache/cache_store.h"

namespace rampart::cache {

void AddPurgeEndpoint(admin::AdminActions& admin, const std::string& zone,
                      std::shared_ptr<CacheStore> store);

}  // namespace rampart::cache
