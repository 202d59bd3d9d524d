#include "admin/admin_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace rampart::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

asio::awaitable<void> Serve(tcp::socket socket, std::shared_ptr<AdminHandler> handler) {
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    auto [ec, n] =
        co_await http::async_read(socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto& req = parser.get();
    const std::string_view target(req.target().data(), req.target().size());
    const std::size_t q = target.find('?');
    AdminRequest request;
    request.method.assign(req.method_string().data(), req.method_string().size());
    request.path.assign(target.substr(0, q));
    if (auto ct = req.find(http::field::content_type); ct != req.end()) {
      request.content_type.assign(ct->value().data(), ct->value().size());
    }
    if (q != std::string_view::npos) request.query.assign(target.substr(q + 1));
    request.body = std::move(req.body());
    AdminResponse r = co_await (*handler)(std::move(request));
    http::response<http::string_body> res{static_cast<http::status>(r.status), req.version()};
    res.set(http::field::content_type, r.content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(r.body);
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(socket, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !res.keep_alive()) co_return;
  }
}

asio::awaitable<void> AcceptLoop(tcp::acceptor& acceptor, std::shared_ptr<AdminHandler> handler) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (!acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), Serve(std::move(socket), handler), asio::detached);
  }
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, AdminHandler handler)
    : acceptor_(io), handler_(std::make_shared<AdminHandler>(std::move(handler))) {}

std::unique_ptr<AdminServer> AdminServer::Start(asio::io_context& io, const std::string& host,
                                                std::uint16_t port, AdminHandler handler,
                                                std::string* error) {
  std::unique_ptr<AdminServer> s(new AdminServer(io, std::move(handler)));
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  tcp::endpoint ep(addr, port);
  if (!ec) s->acceptor_.open(ep.protocol(), ec);
  if (!ec) s->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s->acceptor_.bind(ep, ec);
  if (!ec) s->acceptor_.listen(128, ec);
  if (ec) {
    if (error) *error = ec.message();
    return nullptr;
  }
  asio::co_spawn(io, AcceptLoop(s->acceptor_, s->handler_), asio::detached);
  return s;
}

std::string AdminError(std::string_view error, std::string_view message) {
  std::string out = "{\"error\":\"";
  out += error;
  out += "\",\"message\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"}\n";
}

void AdminServer::Stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

}  // namespace rampart::admin
