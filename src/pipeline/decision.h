// What a gate decides about a request: let it through, answer it locally, or drop the connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rampart {

struct Decision {
  enum class Kind : std::uint8_t { kContinue, kRespond, kDrop };

  Kind kind = Kind::kContinue;
  std::uint16_t status = 0;
  std::string_view reason;  // stable snake_case token with static storage: body, log, metrics
  std::string message;      // human-readable, for the JSON body
  std::string headers;      // extra response header lines, each "Name: value\r\n"

  static Decision Continue() noexcept { return {}; }
  static Decision Respond(std::uint16_t status, std::string_view reason, std::string message,
                          std::string headers = {}) {
    return {Kind::kRespond, status, reason, std::move(message), std::move(headers)};
  }
  static Decision Drop(std::string_view reason) { return {Kind::kDrop, 0, reason, {}, {}}; }

  bool is_continue() const noexcept { return kind == Kind::kContinue; }
};

}  // namespace rampart
