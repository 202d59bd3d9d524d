// The wire form of a cache entry, for the shared (Redis) tier: what one instance stores another
// reads back, so decoding treats its input as untrusted. Pure functions (codec library, fuzzed).
//
// Version 1, in order (varint: unsigned LEB128, shortest form; fixed: little-endian):
//   1 byte    version (1)
//   fixed 2   status (100..999)
//   fixed 8   request_time, then response_time: signed microseconds since the Unix epoch
//   varint    lifetime, stale_while_revalidate, stale_if_error: seconds (0..2^31)
//   varint    header count, then per field: name (a token), value (no control bytes but tab)
//   varint    vary name count, then per name: the name (a token)
//   bytes     vary_values
//   varint    tag count, then per tag: the tag
//   bytes     body
// where "bytes" is a varint length then that many bytes. Times keep whole microseconds.
#pragma once

#include <string>
#include <string_view>

#include "gates/cache/cached_response.h"

namespace rampart::cache {

// Appends the entry's encoding to `out`. An entry the cache gate made always decodes back (its
// status, durations and fields are within the bounds above); one outside them encodes but
// does not decode.
void EncodeEntry(const CachedResponse& e, std::string& out);
// Parses an encoding (from a store another instance wrote: untrusted, strict): false on anything
// malformed, truncated, with trailing bytes, an unknown version, or counts/lengths beyond the
// input. `out` is changed only on success. Nothing is allocated beyond what the input holds.
bool DecodeEntry(std::string_view in, CachedResponse& out);

}  // namespace rampart::cache
