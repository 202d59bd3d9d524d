#include "upstream/http_client.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <charconv>

#include "core/strings.h"
#include "net/deadline.h"
#include "net/tls/client_tls.h"
#include "upstream/http1_stream.h"

namespace rampart::upstream {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;

namespace {
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr auto kResolveFor = std::chrono::seconds(60);  // an origin's address is looked up again
}  // namespace

bool ParseUrl(std::string_view url, ParsedUrl& out) {
  if (IStartsWith(url, "https://")) {
    out.tls = true;
    url.remove_prefix(8);
  } else if (IStartsWith(url, "http://")) {
    out.tls = false;
    url.remove_prefix(7);
  } else {
    return false;
  }
  const auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  std::string_view target = slash == std::string_view::npos ? "/" : url.substr(slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return false;
  out.port = out.tls ? 443 : 80;
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) return false;
    out.port = static_cast<std::uint16_t>(p);
  }
  out.host = std::string(host);
  out.authority = std::string(authority);
  out.target = target.starts_with('?') ? "/" + std::string(target) : std::string(target);
  return true;
}

struct HttpClient::Origin {
  UpstreamSpec spec;  // one endpoint: the origin's address
  SteadyTime resolved{};
};

// A fetch in flight, for the tick that fires its deadline.
struct HttpClient::Active {
  net::Deadline dl;
  Stream* stream = nullptr;
  Active* next = nullptr;
  Active* prev = nullptr;
};

HttpClient::HttpClient(net::LoopContext& loop, observe::Metrics& metrics)
    : loop_(loop), metrics_(metrics), pool_(loop.io()), tick_(loop.io()) {}

HttpClient::~HttpClient() { tick_.cancel(); }

asio::awaitable<void> HttpClient::Tick() {
  int ticks = 0;
  for (;;) {
    tick_.expires_after(kTick);
    auto [ec] = co_await tick_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    const SteadyTime now = loop_.RefreshNow();
    for (Active* a = active_; a != nullptr; a = a->next) {
      if (a->dl.Expire(now) && a->stream != nullptr) a->stream->Cancel();
    }
    if (++ticks % 10 == 0) pool_.Sweep(now);
  }
}

asio::awaitable<std::shared_ptr<HttpClient::Origin>> HttpClient::OriginFor(
    const ParsedUrl& url, const ClientRequest& request, std::string& error) {
  const std::string key =
      fmt::format("{}://{}:{}|{}", url.tls ? "https" : "http", url.host, url.port, request.ca_file);
  std::shared_ptr<Origin>& origin = origins_[key];
  if (origin && loop_.now() - origin->resolved < kResolveFor) co_return origin;
  auto fresh = std::make_shared<Origin>();
  fresh->spec.name = fmt::format("outbound:{}:{}", url.host, url.port);
  fresh->spec.stats = metrics_.Upstream(fresh->spec.name);
  fresh->spec.max_idle_per_endpoint = 8;
  fresh->spec.idle_timeout = std::chrono::seconds(30);
  EndpointSpec ep;
  ep.key = key;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(url.host, ec);
  if (ec) {
    asio::ip::tcp::resolver resolver(loop_.io());
    auto [rec, results] = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                          asio::as_tuple(asio::use_awaitable));
    loop_.RefreshNow();
    if (rec || results.empty()) {
      error =
          fmt::format("cannot resolve '{}': {}", url.host, rec ? rec.message() : "no addresses");
      co_return nullptr;
    }
    ep.address = results.begin()->endpoint();
  } else {
    ep.address = {address, url.port};
  }
  if (url.tls) {
    config::UpstreamTls cfg;
    cfg.ca = request.ca_file;
    fresh->spec.tls = tls::BuildClientContext(cfg, ".", &error);
    if (!fresh->spec.tls) co_return nullptr;
    ep.tls_name = url.host;
  }
  fresh->spec.endpoints.push_back(std::move(ep));
  fresh->resolved = loop_.now();
  origin = fresh;
  co_return origin;
}

asio::awaitable<ClientResponse> HttpClient::Fetch(ClientRequest request) {
  ClientResponse out;
  loop_.RefreshNow();
  ParsedUrl url;
  if (!ParseUrl(request.url, url)) {
    out.error = ExchangeError::Upstream(ErrorKind::kConnectRefused, http::Step::kPick, false, true);
    out.error_text = "not an http or https URL";
    co_return out;
  }
  std::shared_ptr<Origin> origin = co_await OriginFor(url, request, out.error_text);
  if (!origin) {
    out.error = ExchangeError::Upstream(ErrorKind::kConnectRefused, http::Step::kPick, false, true);
    co_return out;
  }
  co_return co_await FetchFrom(origin->spec, 0, std::move(request), url.target, url.authority,
                               false);
}

asio::awaitable<ClientResponse> HttpClient::FetchFrom(const UpstreamSpec& up, std::size_t endpoint,
                                                      ClientRequest request, std::string target,
                                                      std::string authority, bool connect_only) {
  ClientResponse out;
  loop_.RefreshNow();
  if (!ticking_) {
    ticking_ = true;
    asio::co_spawn(loop_.io(), Tick(), asio::detached);
  }
  // This fetch's timeouts on a copy of the spec; the connections are the endpoint's.
  UpstreamSpec spec = up;
  spec.connect_timeout = spec.response_timeout = request.timeout;
  const EndpointSpec& ep = spec.endpoints[endpoint];

  Active active;
  active.next = active_;
  if (active_) active_->prev = &active;
  active_ = &active;
  struct Unlink {
    HttpClient& c;
    Active& a;
    ~Unlink() {
      if (a.prev)
        a.prev->next = a.next;
      else
        c.active_ = a.next;
      if (a.next) a.next->prev = a.prev;
    }
  } unlink{*this, active};

  net::IoBuffer in(loop_.buffers());
  http::HeaderList response_headers;
  std::string head, scratch, parsed;
  Http1Stream stream(loop_, pool_, spec, ep, pool_.For(ep), spec.stats->slot(0), active.dl,
                     {in, response_headers, head, scratch, parsed});
  active.stream = &stream;
  auto fail = [&](const ExchangeError& e) {
    out.status = 0;
    out.error = e;
    out.error_text = std::string(e.message());
    stream.End(StreamEnd::kClose);
    return out;
  };
  if (ExchangeError e = co_await stream.Open()) co_return fail(e);
  if (connect_only) {
    stream.End(StreamEnd::kClose);
    out.status = 200;  // connected (and, over TLS, handshaken)
    co_return out;
  }

  http::HeaderList request_headers;
  bool has_host = false;
  for (const auto& [n, v] : request.headers) {
    if (IEquals(n, "host")) has_host = true;
    if (IEquals(n, "content-length") || IEquals(n, "transfer-encoding")) continue;
    request_headers.Add(n, v);
  }
  (void)has_host;
  http::UpstreamRequest ur;
  ur.method = request.method;
  ur.path_and_query = target;
  ur.host = authority;
  ur.headers = &request_headers;
  ur.forwarding = false;
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    ur.content_length = request.body.size();
  }
  spec.stats->slot(0).requests.Add();
  if (ExchangeError e = co_await stream.SendHead(ur, request.body, true)) co_return fail(e);
  ResponseHead h;
  std::string body;
  bool end = false;
  if (ExchangeError e = co_await stream.ReadHead(h, body, end)) co_return fail(e);
  out.status = h.status;
  for (const auto& f : response_headers) out.headers.emplace_back(f.name, f.value);
  while (!end) {
    if (ExchangeError e = co_await stream.ReadBody(body, end)) co_return fail(e);
    if (body.size() > request.max_response_bytes) {
      co_return fail(
          ExchangeError::Upstream(ErrorKind::kBadResponse, http::Step::kReadBody, true, false));
    }
  }
  out.body = std::move(body);
  stream.End(StreamEnd::kComplete);
  co_return out;
}

}  // namespace rampart::upstream
