// The admin listener: a small HTTP/1.1 server (Boost.Beast) on the control thread's loop, for
// /metrics, /healthz, /readyz, /admin/reload and the endpoints gates add (admin_actions.h).
// Loopback by default; it never shares a port or a thread with traffic.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "admin/admin_actions.h"

namespace rampart::admin {

using AdminHandler = std::function<boost::asio::awaitable<AdminResponse>(AdminRequest request)>;

class AdminServer {
 public:
  // nullptr with *error set when the address cannot be bound.
  static std::unique_ptr<AdminServer> Start(boost::asio::io_context& io, const std::string& host,
                                            std::uint16_t port, AdminHandler handler,
                                            std::string* error);
  void Stop();

 private:
  AdminServer(boost::asio::io_context& io, AdminHandler handler);
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<AdminHandler> handler_;
};

}  // namespace rampart::admin
