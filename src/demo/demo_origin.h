// A small origin for demos and tests: echoes each request as JSON, serves /health, and takes
// test controls in the query string (status, delay, size, chunked, nolength, echo=body).
#pragma once

#include <string>

namespace rampart::demo {

int RunDemoOrigin(const std::string& listen, int threads);

}  // namespace rampart::demo
