// Reading an IP list's settings (ip_list_spec.h): the keys, declared once.
#pragma once

#include "config/fields.h"
#include "gates/ip_list/ip_list_spec.h"

namespace rampart::ip_list {

// Inline entries are checked here; files when the list is built (ip_list.h).
const config::Fields<IpListSpec>& IpListFields();

}  // namespace rampart::ip_list
