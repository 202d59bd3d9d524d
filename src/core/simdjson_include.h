// simdjson, included in one place.
#pragma once

#include <simdjson.h>
