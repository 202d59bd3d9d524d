// What the idempotency gate keeps per key, as bytes in the key-value store, and the request's
// Idempotency-Key field. Pure functions (codec library, fuzzed): a record read back from a
// shared store is input like any other.
//
// A record is a text head, then for a completed answer the sealed response:
//   "RI1 F <token> <fingerprint> <nonce>"               in flight: a holder has the lease
//   "RI1 P <token> <fingerprint> <nonce> <status> <ms>"  answered: the origin's head came at
//                                                         <ms> (Unix milliseconds), its answer
//                                                         is on its way to the client
//   "RI1 D <token> <fingerprint> <key id>\n<sealed>"     completed, the response stored
//   "RI1 N <token> <fingerprint> <status>"               completed, the response not stored
// <token> is the holder's fencing token (decimal), <fingerprint> 64 hex digits, <nonce> 16 hex
// digits the holder drew. A holder's record bytes are what it compares against when it writes
// its next state, so a holder whose lease passed to another (a newer token, and another nonce
// even if the token counter was reset) cannot overwrite the new holder's record.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rampart::idempotency {

// The Idempotency-Key value (draft-ietf-httpapi-idempotency-key-header: an sf-string, so
// "quoted"; bare tokens are accepted as widely deployed APIs send them). The key is the inner
// string: 1..max_length printable ASCII characters; a bare key has no space, '"', '\\', ',' or
// ';'. False when the value is not a valid key.
bool ParseKey(std::string_view field, std::size_t max_length, std::string& key);

enum class State : char { kInFlight = 'F', kAnswered = 'P', kDone = 'D', kNoReplay = 'N' };

struct Record {
  State state = State::kInFlight;
  std::uint64_t token = 0;
  std::string fingerprint;    // 64 hex digits
  std::string key_id;         // kDone: the key that sealed `sealed` ("-": not encrypted)
  std::string nonce;          // kInFlight, kAnswered
  int status = 0;             // kAnswered, kNoReplay: the status the client got (0: none)
  std::int64_t since_ms = 0;  // kAnswered: when the origin's head came
  std::string_view sealed;    // kDone: into the decoded bytes
};

std::string EncodeInFlight(std::uint64_t token, std::string_view fingerprint,
                           std::string_view nonce);
std::string EncodeAnswered(std::uint64_t token, std::string_view fingerprint,
                           std::string_view nonce, int status, std::int64_t since_ms);
// The head of a completed record; the sealed response follows it (Seal's AAD is this head).
std::string DoneHead(std::uint64_t token, std::string_view fingerprint, std::string_view key_id);
std::string EncodeNoReplay(std::uint64_t token, std::string_view fingerprint, int status);
// False when `bytes` is not a record this version wrote.
bool DecodeRecord(std::string_view bytes, Record& out);

// A stored response: status, end-to-end header fields and body, in one string.
struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
std::string EncodeResponse(int status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           std::string_view body);
// The same, appended to `out`.
void AppendResponse(std::string& out, int status,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    std::string_view body);
bool DecodeResponse(std::string_view bytes, Response& out);

}  // namespace rampart::idempotency
