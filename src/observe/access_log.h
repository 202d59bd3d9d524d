// The JSON access log: one line per request, formatted on the worker, written by a background
// thread (spdlog's async logger). When the queue is full the oldest line is dropped, never the
// request; drops are counted.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"

namespace spdlog {
class logger;
}

namespace rampart::observe {

class AccessLog {
 public:
  // nullptr with *error set when the file cannot be opened.
  static std::shared_ptr<AccessLog> Open(const config::AccessLog& cfg, std::string* error);
  ~AccessLog();
  void Write(std::string_view line) noexcept;
  std::size_t dropped() const noexcept;

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace rampart::observe
