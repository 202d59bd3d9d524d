// libFuzzer target: the idempotency gate's records and stored responses as read back from a
// shared store, and the Idempotency-Key field as a client sends it. What decodes must encode
// back to the same meaning.
#include <cstdint>
#include <string>
#include <string_view>

#include "gates/idempotency/record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16384) return 0;
  namespace idem = rampart::idempotency;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  idem::Record r;
  if (idem::DecodeRecord(text, r)) {
    std::string again;
    if (r.state == idem::State::kInFlight) {
      again = idem::EncodeInFlight(r.token, r.fingerprint, r.nonce);
    }
    if (r.state == idem::State::kAnswered) {
      again = idem::EncodeAnswered(r.token, r.fingerprint, r.nonce, r.status, r.since_ms);
    }
    if (r.state == idem::State::kNoReplay) {
      again = idem::EncodeNoReplay(r.token, r.fingerprint, r.status);
    }
    if (r.state == idem::State::kDone) {
      again = idem::DoneHead(r.token, r.fingerprint, r.key_id) + std::string(r.sealed);
    }
    if (again != text) __builtin_trap();  // one encoding per record
  }
  idem::Response resp;
  if (idem::DecodeResponse(text, resp)) {
    idem::Response back;
    if (!idem::DecodeResponse(idem::EncodeResponse(resp.status, resp.headers, resp.body), back) ||
        back.status != resp.status || back.headers != resp.headers || back.body != resp.body) {
      __builtin_trap();
    }
  }
  std::string key;
  if (idem::ParseKey(text, 255, key)) {
    for (char c : key) {
      if (c < 0x20 || c > 0x7e) __builtin_trap();  // only printable ASCII gets through
    }
  }
  return 0;
}
