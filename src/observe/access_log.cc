#include "observe/access_log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace rampart::observe {
namespace {

std::shared_ptr<spdlog::details::thread_pool> Pool() {
  static auto pool = std::make_shared<spdlog::details::thread_pool>(16384, 1);
  return pool;
}

}  // namespace

std::shared_ptr<AccessLog> AccessLog::Open(const config::AccessLog& cfg, std::string* error) {
  if (!cfg.enabled) return nullptr;
  spdlog::sink_ptr sink;
  try {  // spdlog reports an unopenable file by exception: caught here, at its edge
    if (cfg.path == "stdout")
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    else if (cfg.path == "stderr")
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    else
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(cfg.path);
  } catch (const spdlog::spdlog_ex& e) {
    if (error) *error = e.what();
    return nullptr;
  }
  sink->set_pattern("%v");
  auto out = std::shared_ptr<AccessLog>(new AccessLog());
  out->logger_ = std::make_shared<spdlog::async_logger>(
      "access", std::move(sink), Pool(), spdlog::async_overflow_policy::overrun_oldest);
  out->logger_->set_level(spdlog::level::info);
  out->logger_->flush_on(spdlog::level::info);
  return out;
}

AccessLog::~AccessLog() = default;

void AccessLog::Write(std::string_view line) noexcept { logger_->info(line); }

std::size_t AccessLog::dropped() const noexcept { return Pool()->overrun_counter(); }

}  // namespace rampart::observe
