// `/admin/blackhole`: GET lists the clients held now (address, seconds left, strikes, whether an
// operator added it); POST {"address": "192.0.2.7", "ttl": "10m"} adds one; DELETE
// ?address=192.0.2.7 removes one (and forgets its strikes).
#pragma once

#include <memory>

#include "admin/admin_actions.h"
#include "gates/blackhole/blackhole.h"

namespace rampart::gates {

void AddBlackholeEndpoint(admin::AdminActions& admin, Blackhole* blackhole);

}  // namespace rampart::gates
