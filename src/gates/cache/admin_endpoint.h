// POST /admin/cache/purge: drops entries of a cache zone by URL, URL prefix or tag; with a shared
// tier, also moves the zone's generation there on (every entry in Redis then reads as absent).
#pragma once

#include <memory>
#include <string>

#include "admin/admin_actions.h"
#include "gates/cache/cache_store.h"
#include "gates/cache/shared_tier.h"

namespace rampart::cache {

void AddPurgeEndpoint(admin::AdminActions& admin, const std::string& zone,
                      std::shared_ptr<CacheStore> store, std::shared_ptr<SharedTier> shared);

}  // namespace rampart::cache
