#include "probe_gate.h"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "config/yaml_reader.h"
#include "observe/metrics.h"
#include "state/stores.h"
#include "upstream/http_client.h"

namespace rampart::testing {
namespace {

struct ProbeConfig {
  std::string refuse_header;  // present on the request: 403 probe_refused
  std::string serve_header;   // present: a stored 200 "stored by probe"
  std::uint64_t body_bytes = 0;
  bool inspect_prefix = false;
  std::uint64_t replace_status = 0;  // rampart's own answer with this status: a stored 200
  std::string remove_header;         // removed from the origin's response
  // X-Probe-Lock: <key> takes the key in this store (set-if-absent, 60 s); the answer says how
  // it went in X-Probe-Lock (ok, exists, unavailable).
  std::shared_ptr<state::KvStore> kv;
  // X-Probe-Fetch on the request: this URL is fetched with the outbound client (on the control
  // thread) before the request goes on; X-Probe-Fetched says "<status> <body bytes>" or
  // "0 <error>".
  std::string fetch_url;
  std::string fetch_ca;
  std::chrono::milliseconds fetch_timeout{2000};
  Services* services = nullptr;
};

struct Phases final : public GateState {
  std::string text;
  std::string_view lock;  // the lock's outcome, when one was asked for
  std::string fetched;    // the fetch's outcome, when one was asked for
};

class ProbeGate final : public Gate {
 public:
  ProbeGate(ProbeConfig c, observe::CounterSeries* complete, observe::CounterSeries* tapped)
      : c_(std::move(c)), complete_(complete), tapped_(tapped) {
    remove_[0] = c_.remove_header;
  }
  std::string_view Name() const noexcept override { return "probe"; }
  GateNeeds Needs() const noexcept override {
    GateNeeds n;
    n.request_body = c_.body_bytes;
    n.overflow =
        c_.inspect_prefix ? GateNeeds::Overflow::kInspectPrefix : GateNeeds::Overflow::kRefuse;
    n.response_body = true;
    n.async_request = c_.kv != nullptr || !c_.fetch_url.empty();
    return n;
  }
  std::span<const std::string_view> Reasons() const noexcept override { return kReasons; }

  Decision OnRequestHeaders(Exchange& ex) noexcept override {
    auto state = std::make_unique<Phases>();
    state->text = "request";
    ex.slot().state = std::move(state);
    if (!c_.refuse_header.empty() && ex.request_headers->Has(c_.refuse_header)) {
      return Decision::Respond(403, kReasons[0], "refused by the probe gate");
    }
    if (!c_.serve_header.empty() && ex.request_headers->Has(c_.serve_header)) {
      return Decision::Serve(Stored(201, "stored by probe"), kReasons[2]);
    }
    return Decision::Continue();
  }
  boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept override {
    Decision d = OnRequestHeaders(ex);
    const std::string_view key = ex.request_headers->Get("x-probe-lock");
    if (d.is_continue() && !key.empty()) {
      const state::KvStatus s =
          co_await c_.kv->SetIfAbsent(key, ex.request_id, std::chrono::seconds(60), ex.worker);
      static_cast<Phases*>(ex.slot().state.get())->lock = state::KvStatusToken(s);
    }
    if (d.is_continue() && !c_.fetch_url.empty() && ex.request_headers->Has("x-probe-fetch")) {
      upstream::ClientRequest req;
      req.url = c_.fetch_url;
      req.ca_file = c_.fetch_ca;
      req.timeout = c_.fetch_timeout;
      upstream::HttpClient& client = *c_.services->client;
      // The client lives on the control thread: the fetch runs there, this stream waits here.
      upstream::ClientResponse r = co_await boost::asio::co_spawn(
          c_.services->control, client.Fetch(std::move(req)), boost::asio::use_awaitable);
      static_cast<Phases*>(ex.slot().state.get())->fetched =
          r.ok() ? fmt::format("{} {}", r.status, r.body.size())
                 : fmt::format("0 {}", r.error.token());
    }
    co_return d;
  }
  Decision OnRequestBody(Exchange& ex, std::string_view body, bool complete) noexcept override {
    Note(ex, fmt::format("body={}{}", body.size(), complete ? "" : "+"));
    if (body.find("EVIL") != std::string_view::npos) {
      return Decision::Respond(403, kReasons[1], "the probe gate found EVIL in the body");
    }
    return Decision::Continue();
  }
  Decision OnResponseHeaders(Exchange& ex) noexcept override {
    Note(ex, fmt::format("response={}:{}", ex.response.status,
                         ex.response.from_origin() ? "origin" : ex.response.reason));
    if (!ex.response.from_origin() && c_.replace_status != 0 &&
        static_cast<std::uint64_t>(ex.response.status) == c_.replace_status) {
      return Decision::Serve(Stored(200, "fallback from probe"), kReasons[3]);
    }
    if (!c_.remove_header.empty()) ex.response_remove.push_back(remove_[0]);
    auto* phases = static_cast<Phases*>(ex.slot().state.get());
    ex.response_headers += "X-Probe-Phases: " + phases->text + "\r\n";
    if (!phases->lock.empty())
      ex.response_headers += fmt::format("X-Probe-Lock: {}\r\n", phases->lock);
    if (!phases->fetched.empty())
      ex.response_headers += fmt::format("X-Probe-Fetched: {}\r\n", phases->fetched);
    return Decision::Continue();
  }
  void OnResponseBody(Exchange& ex, std::string_view piece, bool) noexcept override {
    tapped_->Add(ex.worker, piece.size());
  }
  void OnComplete(const Exchange& ex, const Completion&) noexcept override {
    complete_->Add(ex.worker);
  }

 private:
  static constexpr std::string_view kReasons[] = {"probe_refused", "probe_body_refused",
                                                  "probe_stored", "probe_fallback"};
  static void Note(Exchange& ex, std::string_view what) {
    auto* phases = static_cast<Phases*>(ex.slot().state.get());
    phases->text.append(",").append(what);
  }
  static std::shared_ptr<const StoredResponse> Stored(int status, std::string body) {
    auto r = std::make_shared<StoredResponse>();
    r->status = status;
    r->headers = {{"Content-Type", "text/plain"}, {"X-Probe-Stored", "1"}};
    r->body = std::move(body);
    return r;
  }

  ProbeConfig c_;
  observe::CounterSeries* complete_;
  observe::CounterSeries* tapped_;
  std::string_view remove_[1];
};

std::unique_ptr<Gate> MakeProbeGate(const YAML::Node& settings, GateContext& ctx) {
  config::YamlObject o(ctx.reader, settings, ctx.where);
  if (!o.ok()) return nullptr;
  ProbeConfig c;
  if (auto x = o.Get("refuse_header"); x.IsDefined())
    ctx.reader.String(x, o.Where("refuse_header"), c.refuse_header);
  if (auto x = o.Get("serve_header"); x.IsDefined())
    ctx.reader.String(x, o.Where("serve_header"), c.serve_header);
  if (auto x = o.Get("body_bytes"); x.IsDefined())
    ctx.reader.Size(x, o.Where("body_bytes"), c.body_bytes);
  if (auto x = o.Get("inspect_prefix"); x.IsDefined())
    ctx.reader.Bool(x, o.Where("inspect_prefix"), c.inspect_prefix);
  if (auto x = o.Get("replace_status"); x.IsDefined())
    ctx.reader.Uint(x, o.Where("replace_status"), 599, c.replace_status);
  if (auto x = o.Get("remove_header"); x.IsDefined())
    ctx.reader.String(x, o.Where("remove_header"), c.remove_header);
  if (auto x = o.Get("kv"); x.IsDefined()) {
    config::YamlObject k(ctx.reader, x, o.Where("kv"));
    state::KvSpec spec;
    spec.name = "probe";
    if (auto y = k.Get("shared"); y.IsDefined()) ctx.reader.Bool(y, k.Where("shared"), spec.shared);
    if (auto y = k.Get("on_failure"); y.IsDefined()) {
      ctx.reader.Choice(
          y, k.Where("on_failure"),
          {{"local", state::KvOnFailure::kLocal}, {"fail", state::KvOnFailure::kFail}},
          spec.on_failure);
    }
    k.Finish();
    std::string error;
    c.kv = ctx.stores.Kv(spec, ctx.config.state, &error);
    if (!c.kv) ctx.reader.Error(x, o.Where("kv") + ": " + error);
  }
  if (auto x = o.Get("fetch"); x.IsDefined()) ctx.reader.String(x, o.Where("fetch"), c.fetch_url);
  if (auto x = o.Get("fetch_ca"); x.IsDefined())
    ctx.reader.String(x, o.Where("fetch_ca"), c.fetch_ca);
  if (auto x = o.Get("fetch_timeout"); x.IsDefined()) {
    std::chrono::microseconds t{};
    if (ctx.reader.Duration(x, o.Where("fetch_timeout"), t))
      c.fetch_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(t);
  }
  c.services = &ctx.services;
  o.Finish();
  static constexpr observe::CounterDef<1> kCompletions{
      "rampart_probe_completions_total", "Exchanges the probe gate completed.", {"route"}};
  static constexpr observe::CounterDef<1> kTapped{
      "rampart_probe_response_bytes_total", "Response body bytes the probe gate saw.", {"route"}};
  return std::make_unique<ProbeGate>(std::move(c),
                                     ctx.metrics.Counter(kCompletions, {ctx.route.name}),
                                     ctx.metrics.Counter(kTapped, {ctx.route.name}));
}

}  // namespace

void RegisterProbeGate() {
  GateRegistry::RegisterBuiltins();
  GateRegistry::Instance().Register("probe", MakeProbeGate);
}

}  // namespace rampart::testing
