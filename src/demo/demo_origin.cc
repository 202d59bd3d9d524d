#include "demo/demo_origin.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "config/config.h"
#include "core/strings.h"

namespace rampart::demo {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

std::atomic<std::uint64_t> g_connections{0};
std::atomic<std::uint64_t> g_requests{0};

// The pool of servers behind ?work=MS: `capacity` at once, the rest wait in arrival order. Its
// bookkeeping and timers run on one strand (a waiter's timer is cancelled by whoever frees a
// server); the mutex only guards what /__stats reads from other threads.
struct WorkPool {
  std::optional<asio::strand<asio::io_context::executor_type>> strand;
  std::mutex mu;
  int capacity = 0;
  int busy = 0;
  std::deque<asio::steady_timer*> waiting;
  std::uint64_t held = 0, held_max = 0, busy_max = 0;  // held: busy + waiting
};
WorkPool g_pool;

// Runs on the pool's strand (co_spawned there by Work).
asio::awaitable<void> WorkOnStrand(std::chrono::milliseconds ms) {
  asio::steady_timer wait(*g_pool.strand);
  bool queued = false;
  {
    std::lock_guard lock(g_pool.mu);
    g_pool.held_max = std::max(g_pool.held_max, ++g_pool.held);
    if (g_pool.capacity > 0 && g_pool.busy >= g_pool.capacity) {
      wait.expires_at(asio::steady_timer::time_point::max());
      g_pool.waiting.push_back(&wait);
      queued = true;
    } else {
      g_pool.busy_max = std::max<std::uint64_t>(g_pool.busy_max, ++g_pool.busy);
    }
  }
  if (queued) co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));  // handed a server
  asio::steady_timer t(*g_pool.strand, ms);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  {
    std::lock_guard lock(g_pool.mu);
    --g_pool.held;
    if (!g_pool.waiting.empty()) {  // the server goes to the next in line
      asio::steady_timer* next = g_pool.waiting.front();
      g_pool.waiting.pop_front();
      next->cancel();
    } else {
      --g_pool.busy;
    }
  }
}

asio::awaitable<void> Work(std::chrono::milliseconds ms) {
  co_await asio::co_spawn(*g_pool.strand, WorkOnStrand(ms), asio::use_awaitable);
}

std::string_view QueryParam(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    auto eq = kv.find('=');
    if (kv.substr(0, eq) == key) return eq == std::string_view::npos ? "1" : kv.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::uint64_t ToNumber(std::string_view s, std::uint64_t fallback) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && p == s.data() + s.size()) ? v : fallback;
}

std::string EchoJson(const http::request<http::string_body>& req, std::uint64_t conn_id) {
  std::string out = "{\"method\":\"";
  AppendJsonEscaped(out, std::string_view(req.method_string().data(), req.method_string().size()));
  out += "\",\"target\":\"";
  AppendJsonEscaped(out, std::string_view(req.target().data(), req.target().size()));
  out += fmt::format("\",\"version\":\"{}.{}\",\"connection_id\":{},\"headers\":[",
                     req.version() / 10, req.version() % 10, conn_id);
  bool first = true;
  for (const auto& f : req) {
    out += first ? "[\"" : ",[\"";
    first = false;
    AppendJsonEscaped(out, std::string_view(f.name_string().data(), f.name_string().size()));
    out += "\",\"";
    AppendJsonEscaped(out, std::string_view(f.value().data(), f.value().size()));
    out += "\"]";
  }
  out += fmt::format("],\"body_bytes\":{},\"body\":\"", req.body().size());
  AppendJsonEscaped(out, req.body());
  out += "\"}\n";
  return out;
}

// WebSocket echo (any path): every message comes back as it was sent, text or binary.
asio::awaitable<void> EchoWebSocket(tcp::socket socket,
                                    const http::request<http::string_body>& req) {
  beast::websocket::stream<tcp::socket> ws(std::move(socket));
  auto [aec] = co_await ws.async_accept(req, asio::as_tuple(asio::use_awaitable));
  if (aec) co_return;
  beast::flat_buffer buf;
  for (;;) {
    auto [rec, n] = co_await ws.async_read(buf, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return;
    ws.text(ws.got_text());
    auto [wec, wn] = co_await ws.async_write(buf.data(), asio::as_tuple(asio::use_awaitable));
    if (wec) co_return;
    buf.consume(buf.size());
  }
}

asio::awaitable<void> Serve(tcp::socket socket) {
  const std::uint64_t conn_id = ++g_connections;
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    parser.header_limit(64 * 1024);
    auto [rec, n] =
        co_await http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return;
    ++g_requests;
    auto& req = parser.get();
    if (beast::websocket::is_upgrade(req)) {
      co_await EchoWebSocket(std::move(socket), req);
      co_return;
    }
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query = target.find('?') == std::string_view::npos
                                 ? std::string_view()
                                 : target.substr(target.find('?') + 1);

    if (auto w = ToNumber(QueryParam(query, "work"), 0); w > 0) {
      co_await Work(std::chrono::milliseconds(w));
    }
    if (auto d = ToNumber(QueryParam(query, "delay"), 0); d > 0) {
      asio::steady_timer t(socket.get_executor(), std::chrono::milliseconds(d));
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (!QueryParam(query, "reset").empty()) {  // the request arrived; no answer, a reset
      socket.set_option(asio::socket_base::linger(true, 0), ec);
      socket.close(ec);
      co_return;
    }
    if (auto cut = ToNumber(QueryParam(query, "cut"), 0); cut > 0) {
      // Mid-response: a head promising 65536 bytes, `cut` of them, then a reset.
      std::string partial =
          "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
          "Content-Length: 65536\r\n\r\n";
      partial.append(std::min<std::uint64_t>(cut, 65535), 'x');
      co_await asio::async_write(socket, asio::buffer(partial),
                                 asio::as_tuple(asio::use_awaitable));
      socket.set_option(asio::socket_base::linger(true, 0), ec);
      socket.close(ec);
      co_return;
    }
    unsigned status = static_cast<unsigned>(ToNumber(QueryParam(query, "status"), 200));
    http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
    res.set(http::field::server, "rampart-demo-origin");
    res.set("X-Origin-Connection", std::to_string(conn_id));
    if (path == "/health") {
      res.set(http::field::content_type, "application/json");
      res.body() = "{\"status\":\"ok\"}\n";
    } else if (path == "/__stats") {
      res.set(http::field::content_type, "application/json");
      std::lock_guard lock(g_pool.mu);
      res.body() = fmt::format(
          "{{\"connections\":{},\"requests\":{},\"held\":{},\"held_max\":{},\"busy_max\":{}}}\n",
          g_connections.load(), g_requests.load(), g_pool.held, g_pool.held_max, g_pool.busy_max);
      if (!QueryParam(query, "clear").empty()) g_pool.held_max = g_pool.busy_max = g_pool.held;
    } else if (QueryParam(query, "echo") == "body") {
      res.set(http::field::content_type, "application/octet-stream");
      res.body() = req.body();
    } else if (auto size = QueryParam(query, "size"); !size.empty()) {
      res.set(http::field::content_type, "application/octet-stream");
      std::uint64_t n = std::min<std::uint64_t>(ToNumber(size, 0), 512 * 1024 * 1024);
      res.body().resize(n);
      for (std::uint64_t i = 0; i < n; ++i) res.body()[i] = static_cast<char>('a' + i % 26);
    } else {
      res.set(http::field::content_type, "application/json");
      res.body() = EchoJson(req, conn_id);
    }
    const bool nolength = !QueryParam(query, "nolength").empty();
    bool keep = req.keep_alive() && QueryParam(query, "close").empty() && !nolength;
    res.keep_alive(keep);
    if (!QueryParam(query, "chunked").empty())
      res.chunked(true);
    else if (!nolength)
      res.prepare_payload();
    if (req.method() == http::verb::head) res.body().clear();
    http::response_serializer<http::string_body> sr(res);
    if (req.method() == http::verb::head) sr.split(true);
    auto [wec, wn] =
        req.method() == http::verb::head
            ? co_await http::async_write_header(socket, sr, asio::as_tuple(asio::use_awaitable))
            : co_await http::async_write(socket, sr, asio::as_tuple(asio::use_awaitable));
    if (wec || !keep) {
      socket.shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

asio::awaitable<void> Accept(tcp::acceptor& acceptor) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (!acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), Serve(std::move(socket)), asio::detached);
  }
}

}  // namespace

int RunDemoOrigin(const std::string& listen, int threads, int capacity) {
  std::string host;
  std::uint16_t port = 0;
  if (!config::SplitHostPort(listen, host, port)) {
    spdlog::error("--listen: '{}' is not host:port", listen);
    return 1;
  }
  asio::io_context io(threads);
  g_pool.strand.emplace(asio::make_strand(io));
  g_pool.capacity = capacity;
  boost::system::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(host, ec), port);
  tcp::acceptor acceptor(io);
  if (!ec) acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(4096, ec);
  if (ec) {
    spdlog::error("demo-origin: cannot listen on {}: {}", listen, ec.message());
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  asio::co_spawn(io, Accept(acceptor), asio::detached);
  spdlog::info("demo origin listening on {}", listen);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
  io.run();
  for (auto& t : pool) t.join();
  return 0;
}

}  // namespace rampart::demo
