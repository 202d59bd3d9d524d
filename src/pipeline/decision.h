// What a gate decides about an exchange: let it through, answer it with rampart's JSON error,
// answer it with a stored response (a cache hit, an idempotent replay, a fallback), or drop the
// connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rampart {

// A body still arriving from elsewhere (a cache fill that other requests wait on), read as it
// grows by any number of exchanges on any worker.
class GrowingBody {
 public:
  virtual ~GrowingBody() = default;
  // The body's length, when its origin declared one.
  virtual std::optional<std::uint64_t> length() const noexcept = 0;
  // Appends the bytes past `offset` to `out`, waiting (bounded) for some; `end` once the whole
  // body has been read. False when the body was cut short: the answer cannot complete.
  virtual boost::asio::awaitable<bool> Read(std::size_t offset, std::string& out, bool& end) = 0;
};

// A whole response a gate holds: served as it is, framed by rampart (Content-Length). Shared, so
// a cache entry is served to many clients without copies. With `growing`, the body is not here
// yet: it is served as it arrives (the head goes out first, with the route's response rules).
struct StoredResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // no framing or hop-by-hop fields
  std::string body;
  std::shared_ptr<GrowingBody> growing;
};

struct Decision {
  // kAwait: from OnRequestHeaders, OnRequestBody or OnResponseHeaders, "this one needs to
  // wait": the driver then awaits that phase's async call for it (a gate with a fast path that
  // is mostly synchronous).
  enum class Kind : std::uint8_t { kContinue, kRespond, kServe, kDrop, kAwait };

  Kind kind = Kind::kContinue;
  std::uint16_t status = 0;
  std::string_view reason;  // stable snake_case token with static storage: body, log, metrics
  std::string message;      // human-readable, for the JSON body
  std::string headers;      // extra response header lines, each "Name: value\r\n"
  std::shared_ptr<const StoredResponse> stored;  // kServe

  static Decision Continue() noexcept { return {}; }
  static Decision Respond(std::uint16_t status, std::string_view reason, std::string message,
                          std::string headers = {}) {
    return {Kind::kRespond, status, reason, std::move(message), std::move(headers), nullptr};
  }
  // `reason` names why it was served (logged and counted), e.g. "cache_hit".
  static Decision Serve(std::shared_ptr<const StoredResponse> response, std::string_view reason,
                        std::string headers = {}) {
    const auto status = static_cast<std::uint16_t>(response ? response->status : 500);
    return {Kind::kServe, status, reason, {}, std::move(headers), std::move(response)};
  }
  static Decision Drop(std::string_view reason) {
    return {Kind::kDrop, 0, reason, {}, {}, nullptr};
  }

  static Decision Await() noexcept { return {Kind::kAwait, 0, {}, {}, {}, nullptr}; }

  bool is_continue() const noexcept { return kind == Kind::kContinue; }
};

}  // namespace rampart
