#include "upstream/opener.h"

namespace rampart::upstream {

boost::asio::awaitable<Stream*> Connector::Open(const UpstreamSpec& up, std::size_t endpoint,
                                                boost::asio::steady_timer* wake,
                                                http::ExchangeError& error) {
  const EndpointSpec& ep = up.endpoints[endpoint];
  observe::UpstreamSlot& stats = up.stats->slot(worker_);
  ConnectionPool::Slot& slot = pools_.http1.For(ep);
  active_.reset();
  active_.emplace(slot);
  if (up.http2) {
    h1_.reset();
    h2_.reset();
    h2_.emplace(loop_, worker_, pools_.http2, up, ep, stats, dl_, bufs_.headers, bufs_.head, wake);
    error = co_await h2_->Open();
    co_return error ? nullptr : &*h2_;
  }
  h2_.reset();
  h1_.reset();
  h1_.emplace(loop_, pools_.http1, up, ep, slot, stats, dl_, bufs_);
  error = co_await h1_->Open();
  co_return error ? nullptr : &*h1_;
}

}  // namespace rampart::upstream
