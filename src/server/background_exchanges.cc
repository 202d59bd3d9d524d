#include "server/background_exchanges.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <string>

#include "core/request_id.h"
#include "http/request_target.h"
#include "server/worker.h"

namespace rampart::server {

namespace asio = boost::asio;

namespace {

// `part` (a view into `whole`) at the same place in `copy`, a copy of `whole`.
std::string_view Within(std::string_view whole, std::string_view part, const std::string& copy) {
  if (part.empty() || part.data() < whole.data() ||
      part.data() + part.size() > whole.data() + whole.size()) {
    return {};
  }
  return std::string_view(copy).substr(static_cast<std::size_t>(part.data() - whole.data()),
                                       part.size());
}

}  // namespace

// One copy: a GET or HEAD without a body as the driver's client side, whose answer goes nowhere.
// It owns the bytes its Exchange views (the original's buffers belong to its connection, which
// may close first) and the snapshot it runs on.
class BackgroundExchanges::Copy final : public Downstream {
 public:
  Copy(std::shared_ptr<List> list, std::shared_ptr<const Snapshot> snap,
       std::unique_ptr<ExchangeState> st)
      : list_(std::move(list)), snap_(std::move(snap)), st_(std::move(st)) {
    next_ = list_->first;
    if (next_ != nullptr) next_->prev_ = this;
    list_->first = this;
    ++list_->running;
  }
  ~Copy() override {
    if (prev_ != nullptr) {
      prev_->next_ = next_;
    } else {
      list_->first = next_;
    }
    if (next_ != nullptr) next_->prev_ = prev_;
    --list_->running;
  }
  Copy(const Copy&) = delete;
  Copy& operator=(const Copy&) = delete;

  // Copies what the exchange's views point at into this copy's own strings.
  void Take(const Exchange& from, std::string_view client_ip) {
    Exchange& ex = st_->ex;
    ex.Reset();
    // A pooled state keeps its last exchange's field views (into buffers since freed): none of
    // them may reach this copy's request.
    st_->request_headers.clear();
    st_->response_headers.clear();
    st_->acct.Reset();
    for (const auto& f : *from.request_headers) {
      field_text_.emplace_back(f.name);
      field_text_.emplace_back(f.value);
    }
    for (std::size_t i = 0; i + 1 < field_text_.size(); i += 2) {
      st_->request_headers.Add(field_text_[i], field_text_[i + 1]);
    }
    // A refresh is always a GET: a HEAD's answer has no body to store.
    method_ = from.method == "HEAD" ? std::string_view("GET") : from.method;
    target_ = from.target;
    authority_ = from.authority;
    listener_ = from.listener;
    client_ip_ = client_ip;
    ex.method = method_;
    ex.target = target_;
    ex.path = Within(from.target, from.path, target_);
    if (ex.path.empty() && !from.path.empty()) {  // normalized (http::NormalizePath): a copy
      path_ = from.path;
      ex.path = path_;
    }
    ex.query = Within(from.target, from.query, target_);
    ex.authority = authority_;
    ex.host = http::RouteHost(ex.authority);
    ex.version = from.version;
    ex.request_headers = &st_->request_headers;
    ex.client_address = from.client_address;
    ex.client_port = from.client_port;
    ex.listener = listener_;
    ex.from_trusted_peer = from.from_trusted_peer;
    ex.is_tls = from.is_tls;
    ex.peer = nullptr;  // the client's certificate is the original connection's
    ex.worker = from.worker;
    st_->request_id_buf = NewRequestId().text;
    ex.request_id = {st_->request_id_buf.data(), st_->request_id_buf.size()};
    ex.identity = from.identity;
    ex.retry_safe = from.retry_safe;
    ex.upstream_headers = from.upstream_headers;
    ex.query_remove = from.query_remove;  // views into the gates' storage (the snapshot's)
    ex.refresh_gate = from.refresh_gate;
    ex.background = true;
  }

  asio::awaitable<void> Run(Worker& w) {
    ExchangeState& st = *st_;
    st.ex.start = w.RefreshNow();
    ForwardEnv env{w.loop(),
                   w.index(),
                   snap_->site,
                   w.stats(),
                   w.access_log(),
                   w.pools(),
                   {client_ip_, st.ex.client_port, listener_, "background"},
                   client_ip_,
                   nullptr,
                   nullptr};
    co_await Forward(*this, st, env);
  }

  std::unique_ptr<ExchangeState> TakeState() noexcept { return std::move(st_); }

  void CheckDeadline(SteadyTime now) noexcept {
    if (dl_.Expire(now) && watched_ != nullptr) watched_->Cancel();
  }
  Copy* next() const noexcept { return next_; }

  // --- Downstream: a request without a body, an answer nobody reads ---
  bool has_body() const noexcept override { return false; }
  bool body_done() const noexcept override { return true; }
  std::optional<std::uint64_t> declared_length() const noexcept override { return 0; }
  asio::awaitable<http::ExchangeError> ReadBody(std::string& out, bool& end) override {
    (void)out;
    end = true;
    co_return http::ExchangeError{};
  }
  std::string_view received_protocol() const noexcept override { return "1.1"; }
  asio::awaitable<bool> SendHead(const upstream::ResponseHead& head, std::string& body,
                                 bool end) override {
    (void)head, (void)body, (void)end;
    co_return true;
  }
  asio::awaitable<bool> SendBody(std::string& body, bool end,
                                 const http::HeaderList* trailers) override {
    (void)body, (void)end, (void)trailers;
    co_return true;
  }
  asio::awaitable<bool> SendLocal(int status, std::string_view reason, std::string_view message,
                                  std::string_view headers) override {
    (void)status, (void)reason, (void)message, (void)headers;
    co_return true;
  }
  asio::awaitable<bool> SendStored(const StoredResponse& response,
                                   std::string_view headers) override {
    (void)response, (void)headers;
    co_return true;
  }
  void Abort() noexcept override {}
  net::Deadline& deadline() noexcept override { return dl_; }
  void Watch(upstream::Stream* s) noexcept override { watched_ = s; }

 private:
  std::shared_ptr<List> list_;  // outlives the worker's members while its loop is destroyed
  Copy* prev_ = nullptr;
  Copy* next_ = nullptr;
  std::shared_ptr<const Snapshot> snap_;
  std::unique_ptr<ExchangeState> st_;
  std::vector<std::string> field_text_;
  std::string method_, target_, path_, authority_, listener_, client_ip_;
  net::Deadline dl_;
  upstream::Stream* watched_ = nullptr;
};

BackgroundExchanges::BackgroundExchanges(Worker& worker)
    : worker_(worker), list_(std::make_shared<List>()) {}

bool BackgroundExchanges::Spawn(const Exchange& ex, const Site& site,
                                std::string_view client_ip) noexcept {
  if (list_->running >= kMaxPerWorker || worker_.draining() || ex.request_headers == nullptr) {
    return false;
  }
  // The copy runs on the original's snapshot (its route, its gates, the views query_remove holds
  // into them); after a reload that is no longer the worker's, and the copy is not made.
  if (worker_.snapshot() == nullptr || &worker_.snapshot()->site != &site) return false;
  try {
    auto copy = std::make_unique<Copy>(list_, worker_.snapshot(), worker_.TakeExchangeState());
    copy->Take(ex, client_ip);
    asio::co_spawn(
        worker_.io(),
        [](Worker& w, std::unique_ptr<Copy> c) -> asio::awaitable<void> {
          co_await c->Run(w);
          w.GiveExchangeState(c->TakeState());
        }(worker_, std::move(copy)),
        asio::detached);
    return true;
  } catch (...) {
    return false;
  }
}

void BackgroundExchanges::CheckDeadlines(SteadyTime now) noexcept {
  for (Copy* c = list_->first; c != nullptr;) {
    Copy* next = c->next();
    c->CheckDeadline(now);
    c = next;
  }
}

}  // namespace rampart::server
