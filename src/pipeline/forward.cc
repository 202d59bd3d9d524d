#include "pipeline/forward.h"

#include <algorithm>

#include "core/strings.h"
#include "http/methods.h"
#include "http/range_header.h"
#include "pipeline/forwarder.h"

namespace rampart {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;

asio::awaitable<void> Forward(Downstream& d, ExchangeState& st, ForwardEnv& env) {
  return Forwarder::Run(d, st, env);  // one coroutine frame, the driver's own
}

namespace {

// Range abuse (listener limits, http/range_header.h): too many ranges, overlapping ones, or more
// than one Range field. Judged before routing: no route or gate sees such a request, and with
// `range_abuse: strip` it goes on without its Range field (the whole representation is served).
struct RangeAbuse {
  bool found = false;
  bool strip = false;
  std::string_view message;
};

RangeAbuse JudgeRangeFields(const Exchange& ex, const config::ListenerLimits* limits) {
  static const config::ListenerLimits kDefaults;
  const config::ListenerLimits& l = limits != nullptr ? *limits : kDefaults;
  if (ex.request_headers == nullptr) return {};
  std::string_view value;
  int fields = 0;
  for (const auto& h : *ex.request_headers) {
    if (IEquals(h.name, "range")) {
      value = h.value;
      ++fields;
    }
  }
  if (fields == 0) return {};
  if (fields > 1) return {true, l.strip_bad_ranges, "the request has more than one Range field"};
  switch (http::JudgeRange(value, l.max_ranges)) {
    case http::RangeVerdict::kTooMany:
      return {true, l.strip_bad_ranges, "the Range field asks for more ranges than allowed"};
    case http::RangeVerdict::kOverlapping:
      return {true, l.strip_bad_ranges, "the Range field asks for overlapping ranges"};
    case http::RangeVerdict::kFine:
      break;
  }
  return {};
}

}  // namespace

asio::awaitable<void> Refuse(Downstream& d, ExchangeState& st, ForwardEnv& env, int status,
                             std::string_view reason, std::string_view message) {
  return Forwarder::Refuse(d, st, env, status, reason, message);
}

asio::awaitable<void> Forwarder::Refuse(Downstream& d, ExchangeState& st, ForwardEnv& env,
                                        int status, std::string_view reason,
                                        std::string_view message) {
  Forwarder f(d, st, env);
  co_await f.Reply(status, reason, message);
}

Forwarder::~Forwarder() {
  if (done_) return;
  // Unwound by an exception or a cancelled coroutine: the client cannot get a whole answer.
  d_.Abort();
  d_.Watch(nullptr);
  if (attempts_) attempts_->Finished({});
  Complete(head_sent_ ? status_ : 0, "internal_error");
}

asio::awaitable<void> Forwarder::Run(Downstream& d, ExchangeState& st, ForwardEnv& env) {
  Forwarder f(d, st, env);  // lives in this frame; its destructor is the completion guard
  if (const RangeAbuse abuse = JudgeRangeFields(st.ex, env.limits); abuse.found) {
    if (!abuse.strip) {
      co_await f.Reply(416, "range_not_satisfiable", abuse.message);
      co_return;
    }
    st.ex.upstream_headers.emplace_back("range", "");  // an empty value removes the field
  }
  bool ambiguous = false;
  const CompiledRoute* route = env.site.router->Match(st.ex, &ambiguous);
  if (ambiguous) {
    co_await f.Reply(400, "bad_request", "the path's ';' parameters would change its route");
    co_return;
  }
  if (route == nullptr) {
    co_await f.Reply(404, "no_route", "no route matches this request");
    co_return;
  }
  f.route_ = route;
  st.ex.route = route;
  if (st.ex.background) {
    // A copy of an exchange whose gates before refresh_gate ran already (BackgroundSpawner).
    // A reload may have changed the route since: then the copy is not sent.
    if (st.ex.refresh_gate < 0 ||
        static_cast<std::size_t>(st.ex.refresh_gate) >= route->gates.size()) {
      f.Complete(0, "refresh_dropped");
      co_return;
    }
    f.first_ = static_cast<std::size_t>(st.ex.refresh_gate);
    f.ran_ = f.first_;
  }
  if (!route->gates.empty()) {
    st.ex.slots.resize(route->gates.size());
    // The head is complete: its deadline no longer applies. A gate that waits bounds its own
    // wait (a store's timeout, a shaper's queue and max_delay).
    d.deadline().Clear();
    // Most gates decide from memory: they run without a coroutine frame until one has to wait.
    Decision dec = f.RequestGatesSync();
    if (dec.kind == Decision::Kind::kAwait) dec = co_await f.RequestGates();
    // An answer still arriving (another exchange's fetch this one waited on) that was cut before
    // its first byte: this exchange goes to the origin itself instead.
    if (!dec.is_continue() && co_await f.FirstPiece(dec)) {
      co_await f.Answer(dec);
      co_return;
    }
  }
  if (f.BodyHold() > 0) {  // with or without a body: a POST with none is still seen by gates
    d.deadline().Clear();
    Decision dec;
    http::ExchangeError e = co_await f.HoldBody(dec);
    if (e) {
      co_await f.Fail(e);
      co_return;
    }
    if (!dec.is_continue()) {
      co_await f.Answer(dec);
      co_return;
    }
  }
  co_await f.Proxy();
}

Decision Forwarder::RequestGatesSync() {
  const auto& gates = route_->gates;
  if (route_->async_gates) return Decision::Await();  // one always waits: all of them async
  for (std::size_t i = first_; i < gates.size(); ++i) {
    ran_ = i + 1;
    ex_.gate_index = i;
    Decision d = gates[i]->OnRequestHeaders(ex_);
    if (d.kind == Decision::Kind::kAwait) {
      resume_ = i;  // RequestGates goes on from here, awaiting this gate's async phase
      return d;
    }
    if (!d.is_continue()) {
      if (ex_.notes.empty() || ex_.notes.back().gate != gates[i]->Name()) {
        ex_.notes.push_back({gates[i]->Name(), d.reason, {}});
      }
      return d;
    }
  }
  return Decision::Continue();
}

asio::awaitable<Decision> Forwarder::RequestGates() {
  const auto& gates = route_->gates;
  const std::size_t from = resume_ != kNoResume ? resume_ : first_;
  const bool resuming = resume_ != kNoResume;
  resume_ = kNoResume;
  for (std::size_t i = from; i < gates.size(); ++i) {
    ran_ = i + 1;
    ex_.gate_index = i;
    // No co_await inside ?: here: GCC 12 destroys the temporary of such an expression twice.
    Decision d;
    if (route_->needs[i].async_request || (resuming && i == from)) {
      // (Resuming: this gate's synchronous phase ran and asked to wait.)
      d = co_await gates[i]->OnRequestHeadersAsync(ex_);
    } else {
      d = gates[i]->OnRequestHeaders(ex_);
      if (d.kind == Decision::Kind::kAwait) d = co_await gates[i]->OnRequestHeadersAsync(ex_);
    }
    if (d.kind == Decision::Kind::kAwait) {  // the async phase may not ask again
      d = Decision::Respond(500, "internal_error", "a gate did not decide");
    }
    if (!d.is_continue()) {
      // A gate may have noted its refusal itself, with a detail.
      if (ex_.notes.empty() || ex_.notes.back().gate != gates[i]->Name()) {
        ex_.notes.push_back({gates[i]->Name(), d.reason, {}});
      }
      co_return d;
    }
  }
  co_return Decision::Continue();
}

std::size_t Forwarder::BufferedBody() const noexcept {
  // The route's own setting, else the listener's, which leaves gRPC alone: a streaming call whose
  // client waits for an answer before it sends more would never complete its body.
  if (route_->config != nullptr && route_->config->buffer_request_body) {
    return *route_->config->buffer_request_body;
  }
  if (env_.limits == nullptr || env_.limits->buffer_request_body == 0 || !d_.has_body()) return 0;
  if (st_.request_headers.Get("content-type").starts_with("application/grpc")) return 0;
  return env_.limits->buffer_request_body;
}

std::size_t Forwarder::BodyHold() const noexcept {
  std::size_t hold = BufferedBody();
  if (route_->hold_body == 0) return hold;  // no gate of the route holds bodies
  for (std::size_t i = first_; i < ran_; ++i) {
    if (!ex_.slots[i].skip_body) hold = std::max(hold, route_->needs[i].request_body);
  }
  return hold;
}

asio::awaitable<ExchangeError> Forwarder::HoldBody(Decision& decision) {
  // Nothing reaches the upstream until the gates that asked have seen the body: it is read here
  // up to the largest need (a piece past it, at most, is held too: it goes upstream first).
  std::string& body = st_.body;
  bool end = true;
  if (d_.has_body()) {
    if (!co_await d_.Continue()) {
      co_return ExchangeError::Downstream(ErrorKind::kClientClosed, http::Step::kReadRequestBody);
    }
    d_.TakeBody(body);
    end = d_.body_done();
    const std::size_t hold = BodyHold();
    d_.BodyHeld(body.size());
    while (!end && body.size() <= hold) {
      const std::size_t before = body.size();
      ExchangeError e = co_await d_.ReadBody(body, end);
      if (e) co_return e;
      d_.BodyHeld(body.size() - before);
    }
  }
  body_complete_ = end;
  for (std::size_t i = first_; i < ran_; ++i) {
    const GateNeeds& need = route_->needs[i];
    if (need.request_body == 0 || ex_.slots[i].skip_body) continue;
    const bool over = !end || body.size() > need.request_body;
    if (over && need.overflow == GateNeeds::Overflow::kRefuse) {
      ex_.notes.push_back({route_->gates[i]->Name(), "body_too_large", {}});
      decision =
          Decision::Respond(413, "body_too_large", "request body larger than this route inspects");
      co_return ExchangeError{};
    }
    ex_.gate_index = i;
    const std::string_view seen(body.data(), std::min(body.size(), need.request_body));
    decision = route_->gates[i]->OnRequestBody(ex_, seen, !over);
    if (decision.kind == Decision::Kind::kAwait) {
      decision = co_await route_->gates[i]->OnRequestBodyAsync(ex_, seen, !over);
      if (decision.kind == Decision::Kind::kAwait) {  // the async phase may not ask again
        decision = Decision::Respond(500, "internal_error", "a gate did not decide");
      }
    }
    if (!decision.is_continue()) {
      if (ex_.notes.empty() || ex_.notes.back().gate != route_->gates[i]->Name()) {
        ex_.notes.push_back({route_->gates[i]->Name(), decision.reason, {}});
      }
      co_return ExchangeError{};
    }
  }
  co_return ExchangeError{};
}

asio::awaitable<void> Forwarder::Answer(const Decision& dec) {
  if (dec.kind == Decision::Kind::kDrop) {
    d_.Abort();
    Complete(0, dec.reason);
    co_return;
  }
  if (dec.kind == Decision::Kind::kServe && dec.stored) {
    co_await Serve(*dec.stored, dec.reason, dec.headers);
    co_return;
  }
  co_await Reply(dec.status, dec.reason, dec.message, dec.headers);
}

Decision Forwarder::ResponseGatesFrom(std::size_t top) {
  // A replacement is seen by the gates too (they may add headers to it); it cannot be replaced
  // again.
  for (std::size_t i = top; i-- > first_;) {
    ex_.gate_index = i;
    Decision d = route_->gates[i]->OnResponseHeaders(ex_);
    if (d.kind == Decision::Kind::kAwait) {
      resp_await_ = i;
      return d;
    }
    if (!d.is_continue() && !replaced_) {
      replaced_ = true;
      ex_.notes.push_back({route_->gates[i]->Name(), d.reason, "response replaced"});
      return d;
    }
  }
  return Decision::Continue();
}

asio::awaitable<Decision> Forwarder::ResponseGatesAsync() {
  for (;;) {
    const std::size_t i = resp_await_;
    ex_.gate_index = i;
    Decision d = co_await route_->gates[i]->OnResponseHeadersAsync(ex_);
    if (d.kind == Decision::Kind::kAwait) {  // the async phase may not ask again
      d = Decision::Respond(500, "internal_error", "a gate did not decide");
    }
    if (!d.is_continue() && !replaced_) {
      replaced_ = true;
      ex_.notes.push_back({route_->gates[i]->Name(), d.reason, "response replaced"});
      co_return d;
    }
    d = ResponseGatesFrom(i);
    if (d.kind != Decision::Kind::kAwait) co_return d;
  }
}

void Forwarder::TapResponse(std::string_view piece, bool end) noexcept {
  if (route_ == nullptr || !route_->taps_response) return;
  for (std::size_t i = ran_; i-- > first_;) {
    if (!route_->needs[i].response_body) continue;
    ex_.gate_index = i;
    route_->gates[i]->OnResponseBody(ex_, piece, end);
  }
}

asio::awaitable<void> Forwarder::Reply(int status, std::string_view reason,
                                       std::string_view message, std::string_view headers) {
  // rampart's own refusals (401, 403, 429, ...) are what a repeat offender collects.
  if (env_.site.blackhole != nullptr &&
      env_.site.blackhole->NoteRefusal(ex_.client_address, status, *env_.site.blackhole_settings,
                                       env_.loop.now())) {
    ex_.notes.push_back({"blackhole", "blackholed", {}});
  }
  ex_.status = status;
  ex_.response = {status, nullptr, reason, attempts_ != nullptr && attempts_->request_sent()};
  Decision r = ResponseGates();
  if (r.kind == Decision::Kind::kAwait) r = co_await ResponseGatesAsync();
  if (!r.is_continue()) {
    co_await Answer(r);
    co_return;
  }
  CountLocal(reason);
  d_.DiscardBody();
  std::string& lines = st_.scratch;
  lines.assign(headers);
  lines.append(ex_.response_headers);
  status_ = status;
  head_sent_ = true;
  const bool ok = co_await d_.SendLocal(status, reason, message, lines);
  Complete(status, ok ? reason : std::string_view("client_write_failed"));
}

asio::awaitable<void> Forwarder::Serve(const StoredResponse& r, std::string_view reason,
                                       std::string_view headers) {
  ex_.status = r.status;
  ex_.response = {r.status, nullptr, reason, attempts_ != nullptr && attempts_->request_sent()};
  Decision g = ResponseGates();
  if (g.kind == Decision::Kind::kAwait) g = co_await ResponseGatesAsync();
  if (!g.is_continue()) {
    co_await Answer(g);
    co_return;
  }
  d_.DiscardBody();
  std::string& lines = st_.scratch;
  lines.assign(headers);
  lines.append(ex_.response_headers);
  status_ = r.status;
  head_sent_ = true;
  // A gate asked for the origin anyway (stale-while-revalidate): its copy runs beside this one.
  if (ex_.refresh_gate >= 0 && !ex_.background && env_.background != nullptr &&
      !env_.background->Spawn(ex_, env_.site, env_.client_ip)) {
    ex_.notes.push_back({"background", "refresh_refused", "too many background exchanges"});
  }
  if (r.growing) {
    co_await ServeGrowing(r, headers);
    co_return;
  }
  const bool ok = co_await d_.SendStored(r, lines);
  Complete(r.status, ok ? std::string_view() : std::string_view("client_write_failed"));
}

asio::awaitable<bool> Forwarder::FirstPiece(const Decision& dec) {
  if (dec.kind != Decision::Kind::kServe || !dec.stored || !dec.stored->growing) co_return true;
  std::string& piece = st_.resp_body;
  piece.clear();
  growing_end_ = ex_.method == "HEAD" || dec.stored->status == 204 || dec.stored->status == 304;
  if (growing_end_ || co_await dec.stored->growing->Read(0, piece, growing_end_)) co_return true;
  ex_.notes.push_back({ex_.notes.empty() ? std::string_view("gate") : ex_.notes.back().gate,
                       "wait_cut", "the answer this request waited for was cut short"});
  co_return false;
}

asio::awaitable<void> Forwarder::ServeGrowing(const StoredResponse& r, std::string_view headers) {
  // Framed as an origin's answer is (its declared length, else chunked), with the route's response
  // rules and the gates' lines; the body is sent as it arrives.
  ex_.response_headers.insert(0, headers);
  http::HeaderList& fields = st_.response_headers;
  fields.clear();
  for (const auto& [n, v] : r.headers) fields.Add(n, v);
  const std::optional<std::uint64_t> length = r.growing->length();
  const std::string declared = length ? std::to_string(*length) : std::string();
  if (length) fields.Add("Content-Length", declared);  // framed as the origin declared it
  upstream::ResponseHead head;
  head.status = r.status;
  head.headers = &fields;
  head.content_length = length;
  head.no_body = ex_.method == "HEAD" || r.status == 204 || r.status == 304;
  head.protocol = "1.1";
  std::string& piece = st_.resp_body;  // the first piece (FirstPiece read it)
  bool end = growing_end_;
  std::size_t sent = piece.size();
  bool ok = co_await d_.SendHead(head, piece, end);
  while (ok && !end) {
    piece.clear();
    if (!co_await r.growing->Read(sent, piece, end)) {  // cut short: must not look complete
      d_.Abort();
      Complete(r.status, "upstream_aborted");
      co_return;
    }
    sent += piece.size();
    ok = co_await d_.SendBody(piece, end, nullptr);
  }
  Complete(r.status, ok ? std::string_view() : std::string_view("client_write_failed"));
}

namespace {

// Whether the route's fallback answer stands in for this failure (route fallback.on).
bool FallbackFor(const CompiledRoute& r, const ExchangeError& e) noexcept {
  if (!e.upstream()) return false;
  switch (e.kind) {
    case ErrorKind::kCircuitOpen:
      return r.fallback_on & CompiledRoute::kOnCircuitOpen;
    case ErrorKind::kNoEndpoint:
      return r.fallback_on & CompiledRoute::kOnNoEndpoint;
    case ErrorKind::kBulkheadFull:
    case ErrorKind::kConcurrencyLimited:
      return r.fallback_on & CompiledRoute::kOnOverloaded;
    case ErrorKind::kTimeout:
    case ErrorKind::kConnectTimeout:
      return r.fallback_on & CompiledRoute::kOnTimeout;
    default:  // the upstream failed: only when nothing of the request reached it
      return !e.request_sent && (r.fallback_on & CompiledRoute::kOnUnavailable);
  }
}

}  // namespace

asio::awaitable<void> Forwarder::Fail(const ExchangeError& e) {
  d_.Watch(nullptr);
  if (e.upstream()) st_.acct.upstream_end = env_.loop.now();
  if (head_sent_) {  // a truncated response must not look complete
    d_.Abort();
    Complete(status_, d_.gone() ? d_.gone_reason() : std::string_view("upstream_aborted"));
    co_return;
  }
  if (route_ != nullptr && route_->fallback && !d_.gone() && FallbackFor(*route_, e) &&
      // A timeout after the request reached the origin: it may have acted, so a stand-in answer
      // is only for requests that are safe to repeat.
      (e.kind != ErrorKind::kTimeout || !attempts_ || !attempts_->request_sent() ||
       ex_.retry_safe || http::IsSafeMethod(ex_.method))) {
    ex_.notes.push_back({"fallback", e.token(), {}});
    co_await Serve(*route_->fallback, e.token(), "X-Rampart-Fallback: response\r\n");
    co_return;
  }
  if (e.status() == 0 || d_.gone()) {  // nobody to answer
    d_.Abort();
    // A client that left mid-request is logged as the 400 its request was.
    Complete(e.kind == ErrorKind::kClientClosed ? 400 : 0,
             d_.gone() ? d_.gone_reason() : e.token());
    co_return;
  }
  // Shed to spare the upstream: a client that honours Retry-After comes back after the
  // limit had a chance to move (one interval is far below a second).
  if (e.overload()) {
    co_await Reply(e.status(), e.token(), e.message(), "Retry-After: 1\r\n");
    co_return;
  }
  co_await Reply(e.status(), e.token(), e.message());
}

void Forwarder::CountLocal(std::string_view reason) noexcept {
  if (env_.site.local_replies) env_.site.local_replies->Count(env_.worker, reason);
}

void Forwarder::Complete(int status, std::string_view error) {
  if (done_) return;
  done_ = true;
  d_.Watch(nullptr);
  d_.deadline().cap = SteadyTime::max();
  Completion c;
  c.status = status;
  c.error = error;
  c.total =
      std::chrono::duration_cast<std::chrono::microseconds>(env_.loop.RefreshNow() - ex_.start);
  if (attempts_) {
    attempts_->Finished({});  // when no attempt could be made after an earlier one
    c.upstream = attempts_->elapsed();
    c.attempts = attempts_->total();
    c.request_sent = attempts_->request_sent();
  }
  st_.acct.attempts = c.attempts;
  for (std::size_t i = ran_; i-- > first_;) {
    ex_.gate_index = i;
    route_->gates[i]->OnComplete(ex_, c);
  }
  FinishExchange(env_.loop, env_.worker, &env_.site, env_.log, st_, env_.conn, status, error);
  // The gates' per-exchange state goes now, not when the connection's next request resets the
  // exchange: what it holds (a cache fill, a key's flight that others wait on, a lock) is done.
  for (GateSlot& slot : ex_.slots) slot.state.reset();
}

}  // namespace rampart
