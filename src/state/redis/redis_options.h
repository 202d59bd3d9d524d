// Where and how to reach Redis (config `state.redis`).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace rampart::state::redis {

struct Options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string password;  // AUTH; never logged
  int database = 0;
  std::chrono::microseconds timeout = std::chrono::milliseconds(50);  // per command and connect
  std::chrono::microseconds reconnect_interval = std::chrono::milliseconds(500);

  // Everything that makes two pools different (the password only as a hash).
  std::string Identity() const {
    return host + ":" + std::to_string(port) + "/" + std::to_string(database) + "/" +
           std::to_string(timeout.count()) + "/" + std::to_string(reconnect_interval.count()) +
           (password.empty() ? "" : "/" + std::to_string(std::hash<std::string>{}(password)));
  }
};

}  // namespace rampart::state::redis
