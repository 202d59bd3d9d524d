// A small origin for demos and tests: echoes each request as JSON, serves /health, and takes
// test controls in the query string (status, delay, size, chunked, nolength, echo=body, and
// work=MS: MS of service from a pool of `capacity` servers, queued when all are busy, the way a
// real service saturates; /__stats reports the most requests it ever held at once).
#pragma once

#include <string>

namespace rampart::demo {

// `capacity`: servers for work=MS requests (0: as many as ask).
int RunDemoOrigin(const std::string& listen, int threads, int capacity = 0);

}  // namespace rampart::demo
