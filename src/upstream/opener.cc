#include "upstream/opener.h"

namespace rampart::upstream {

Stream& Connector::Make(const UpstreamSpec& up, std::size_t endpoint,
                        boost::asio::steady_timer* wake) {
  const EndpointSpec& ep = up.endpoints[endpoint];
  observe::UpstreamSlot& stats = up.stats->slot(worker_);
  ConnectionPool::Slot& slot = pools_.http1.For(ep);
  h1_.reset();
  h2_.reset();
  active_.reset();
  active_.emplace(slot);  // the attempt counts in flight on its endpoint (least_request)
  if (up.http2) {
    return h2_.emplace(loop_, worker_, pools_.http2, up, ep, stats, dl_, bufs_.headers, bufs_.head,
                       wake);
  }
  return h1_.emplace(loop_, pools_.http1, up, ep, slot, stats, dl_, bufs_);
}

Stream* Connector::OpenNow(const UpstreamSpec& up, std::size_t endpoint,
                           boost::asio::steady_timer* wake) {
  Make(up, endpoint, wake);
  if (h2_) return h2_->TryReady() ? &*h2_ : nullptr;
  return h1_->TryPooled() ? &*h1_ : nullptr;
}

boost::asio::awaitable<Stream*> Connector::Open(const UpstreamSpec& up, std::size_t endpoint,
                                                boost::asio::steady_timer* wake,
                                                http::ExchangeError& error) {
  Make(up, endpoint, wake);
  if (h2_) {
    error = co_await h2_->Open();
    co_return error ? nullptr : &*h2_;
  }
  error = co_await h1_->Open();
  co_return error ? nullptr : &*h1_;
}

}  // namespace rampart::upstream
