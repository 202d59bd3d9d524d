// libFuzzer target: the records rampart reads back from its key-value store and files (API key
// records, session records, expiry dates, SHA-256 hex). A store is shared infrastructure: what
// comes back is parsed as strictly as a request, never trusted to be well formed.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/secrets.h"
#include "gates/api_key/key_record.h"
#include "gates/session/session_record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 8192) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  rampart::api_key::ApiKey k;
  std::string error;
  if (rampart::api_key::FromJson(text, k, error)) {
    rampart::api_key::ApiKey back;
    if (!rampart::api_key::FromJson(rampart::api_key::ToJson(k, true), back, error) ||
        back.principal != k.principal || back.hash != k.hash) {
      __builtin_trap();  // what rampart writes, it reads back the same
    }
  }
  rampart::session::Record r;
  if (rampart::session::Decode(text, r)) {
    rampart::session::Record back;
    if (!rampart::session::Decode(rampart::session::Encode(r), back) ||
        back.principal != r.principal || back.roles != r.roles) {
      __builtin_trap();
    }
  }
  std::int64_t t = 0;
  rampart::api_key::ParseExpiry(text, t);
  rampart::Sha256Digest d{};
  rampart::ParseSha256Hex(text, d);
  rampart::api_key::ValidId(text);
  rampart::session::WellFormedId(text);
  return 0;
}
