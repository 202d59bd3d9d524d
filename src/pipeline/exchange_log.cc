#include "pipeline/exchange_log.h"

#include <fmt/format.h>

#include <ctime>

namespace rampart {

namespace {

// Every attempt of an exchange that made more than one: where it went, what it came to, when.
void AppendTries(std::string& line, const upstream::Attempts& a) {
  line.append(",\"tries\":[");
  bool first = true;
  for (const auto& t : a.tried()) {
    line.append(first ? "{\"endpoint\":\"" : ",{\"endpoint\":\"");
    first = false;
    AppendJsonEscaped(line, t.endpoint);
    fmt::format_to(std::back_inserter(line), "\",\"status\":{},\"ms\":{:.3f}", t.status,
                   std::chrono::duration<double, std::milli>(t.latency).count());
    if (!t.error.empty()) {
      line.append(",\"error\":\"");
      AppendJsonEscaped(line, t.error);
      line.append("\"");
    }
    line.append("}");
  }
  line.append("]");
}

void WriteAccessLog(net::LoopContext& loop, observe::AccessLog& log, ExchangeState& st,
                    const ConnectionInfo& conn, int status, std::string_view reason) {
  const Exchange& ex = st.ex;
  std::string& line = st.scratch;
  line.clear();
  auto wall = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wall.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  auto dur_ms = [](SteadyTime a, SteadyTime b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  fmt::format_to(std::back_inserter(line),
                 "{{\"time\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"request_id\":\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ms % 1000);
  AppendJsonEscaped(line, ex.request_id);
  // The client a trusted proxy named, and then the proxy itself as the peer.
  const std::string_view client = st.client_ip.empty() ? conn.peer_ip : st.client_ip;
  fmt::format_to(std::back_inserter(line), "\",\"client\":\"{}\",", client);
  if (!st.client_ip.empty())
    fmt::format_to(std::back_inserter(line), "\"peer\":\"{}\",", conn.peer_ip);
  fmt::format_to(std::back_inserter(line), "\"client_port\":{},\"listener\":\"", conn.peer_port);
  AppendJsonEscaped(line, conn.listener);
  line.append("\",\"protocol\":\"");
  AppendJsonEscaped(line, conn.protocol);
  line.append("\",\"method\":\"");
  AppendJsonEscaped(line, ex.method);
  line.append("\",\"path\":\"");
  AppendJsonEscaped(line, ex.path);
  line.append("\",\"host\":\"");
  AppendJsonEscaped(line, ex.host);
  line.append("\",\"route\":\"");
  if (ex.route) AppendJsonEscaped(line, ex.route->name);
  fmt::format_to(std::back_inserter(line),
                 "\",\"status\":{},\"bytes_in\":{},\"bytes_out\":{},\"duration_ms\":{:.3f}", status,
                 st.acct.bytes_in, st.acct.bytes_out, dur_ms(ex.start, loop.now()));
  if (!st.acct.upstream_name.empty()) {
    line.append(",\"upstream\":\"");
    AppendJsonEscaped(line, st.acct.upstream_name);
    line.append("\",\"endpoint\":\"");
    AppendJsonEscaped(line, st.acct.endpoint_key);
    fmt::format_to(std::back_inserter(line), "\",\"upstream_ms\":{:.3f}",
                   st.acct.upstream_end >= st.acct.upstream_start
                       ? dur_ms(st.acct.upstream_start, st.acct.upstream_end)
                       : 0.0);
    if (st.acct.attempts > 1) {
      fmt::format_to(std::back_inserter(line), ",\"attempts\":{}", st.acct.attempts);
      if (st.attempts) AppendTries(line, *st.attempts);
    }
  }
  if (!reason.empty()) {
    line.append(",\"reason\":\"");
    AppendJsonEscaped(line, reason);
    line.append("\"");
  }
  if (!ex.notes.empty()) {
    line.append(",\"gates\":[");
    for (std::size_t i = 0; i < ex.notes.size(); ++i) {
      line.append(i ? ",{\"gate\":\"" : "{\"gate\":\"");
      AppendJsonEscaped(line, ex.notes[i].gate);
      line.append("\",\"decision\":\"");
      AppendJsonEscaped(line, ex.notes[i].outcome);
      if (!ex.notes[i].detail.empty()) {
        line.append("\",\"detail\":\"");
        AppendJsonEscaped(line, ex.notes[i].detail);
      }
      line.append("\"}");
    }
    line.append("]");
  }
  line.append("}");
  log.Write(line);
}

}  // namespace

void FinishExchange(net::LoopContext& loop, int worker, const Site* site, observe::AccessLog* log,
                    ExchangeState& st, const ConnectionInfo& conn, int status,
                    std::string_view reason) {
  Exchange& ex = st.ex;
  ex.status = status;
  loop.RefreshNow();
  auto latency_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(loop.now() - ex.start).count());
  if (ex.route)
    ex.route->stats->Record(worker, status, latency_us);
  else if (site && site->unrouted_stats)
    site->unrouted_stats->Record(worker, status, latency_us);
  if (log) WriteAccessLog(loop, *log, st, conn, status, reason);
}

}  // namespace rampart
