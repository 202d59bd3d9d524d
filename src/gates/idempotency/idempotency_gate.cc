#include "gates/idempotency/idempotency_gate.h"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/secrets.h"
#include "core/strings.h"
#include "gates/idempotency/record.h"
#include "http/proxy_headers.h"
#include "pipeline/router.h"
#include "state/stores.h"

namespace rampart::idempotency {

namespace asio = boost::asio;
using state::KvStatus;

namespace {

// Fencing tokens come from one counter per store: increasing across every key and (on Redis)
// every instance, which is all a fencing check needs, at one small key in the store.
constexpr std::string_view kFenceKey = "fence";
constexpr auto kFenceTtl = std::chrono::hours(24 * 365 * 10);

// Local reply tokens (Decision::reason).
constexpr std::string_view kReasons[] = {
    "idempotency_key_missing",    "idempotency_key_invalid",    "idempotency_in_flight",
    "idempotency_key_reused",     "idempotency_not_replayable", "idempotency_record_unreadable",
    "idempotency_body_too_large", "store_unavailable"};

// rampart_idempotency_requests_total{route, outcome}.
constexpr std::string_view kOutcomes[] = {
    "first",           // this request holds the key: it goes to the origin
    "replayed",        // the stored answer was served
    "conflict",        // the key is in flight for another request: 409
    "mismatch",        // the key was used for a different request: 422
    "not_replayable",  // completed, but its answer was not stored: 409
    "lease_expired",   // the holder's answer came after its lease ran out
    "missing_key", "invalid_key", "body_too_large", "unreadable", "store_unavailable",
    "store_failure_allowed",
    // After the exchange, when the record is written:
    "stored",  // the answer, for replays
    "stored_no_replay", "released", "write_refused", "write_failed"};

}  // namespace

// Between the phases of one exchange.
struct Held final : GateState {
  std::string key;          // store key: "k:" + SHA-256(route, scope, Idempotency-Key)
  std::string fingerprint;  // SHA-256 of method, target and body, hex
  // Holding the lease: `record` is what this holder last wrote (in flight, then answered), so
  // its next write replaces exactly that and nothing a newer holder wrote.
  bool holder = false;
  std::string record;
  std::string nonce;
  std::uint64_t token = 0;
  SteadyTime acquired{};
  asio::any_io_executor executor;
  // The origin's answer, as it goes to the client.
  int status = 0;
  bool from_origin = false;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool body_end = false;
  bool too_large = false;
  // What the response phase leaves for its async step: the record to write (empty: release).
  std::string pending;
  bool pending_no_replay = false;
  bool done = false;  // the final state is written (or another holder owns the key)
};

namespace {

// The exchange's slot for this gate (OnComplete gets a const Exchange; the slot is still ours).
Held* HeldOf(const Exchange& ex) noexcept {
  return static_cast<Held*>(ex.slots[ex.gate_index].state.get());
}

std::string Aad(std::string_view key, std::string_view head) {
  std::string aad(key);
  aad += '\n';
  aad += head;
  return aad;
}

// Writes a holder's next state over `expected`, the record it last wrote (or, with `record`
// empty, releases the key): the compare is the fencing check. When `expected` is gone (the lease
// ended and nobody took the key) the record is set if the key is still free: no newer holder
// exists to lose it to. The outcome is counted (`count`: a final write) and returned.
asio::awaitable<KvStatus> WriteRecord(std::shared_ptr<const Core> core, std::string key,
                                      std::string expected, std::string record, bool no_replay,
                                      bool count, int worker) {
  KvStatus s = KvStatus::kUnavailable;
  if (record.empty()) {
    s = co_await core->store->CompareAndDelete(key, expected, worker);
    if (s == KvStatus::kNotFound) s = KvStatus::kOk;  // nothing left to release
  } else {
    s = co_await core->store->CompareAndSet(key, expected, record, core->config.retention, worker);
    if (s == KvStatus::kNotFound) {
      s = co_await core->store->SetIfAbsent(key, record, core->config.retention, worker);
    }
  }
  std::string_view outcome = "write_failed";
  if (s == KvStatus::kOk) {
    outcome = record.empty() ? "released" : (no_replay ? "stored_no_replay" : "stored");
  } else if (s != KvStatus::kUnavailable) {
    outcome = "write_refused";
    spdlog::warn(
        "idempotency: route {}: a result was not stored: its lease had passed to "
        "another request (fencing token)",
        core->route);
  } else {
    spdlog::warn(
        "idempotency: route {}: the store did not answer; the key stays as it was until "
        "its record expires",
        core->route);
  }
  if (count || s != KvStatus::kOk) core->counters.Add(worker, outcome);
  co_return s;
}

asio::awaitable<void> WriteFinal(std::shared_ptr<const Core> core, std::string key,
                                 std::string expected, std::string record, bool no_replay,
                                 int worker) {
  co_await WriteRecord(std::move(core), std::move(key), std::move(expected), std::move(record),
                       no_replay, true, worker);
}

std::string Nonce() {
  unsigned char b[8] = {};
  RAND_bytes(b, sizeof b);  // a failure leaves zeros: the token still tells holders apart
  return Hex(b, sizeof b);
}

}  // namespace

GateNeeds IdempotencyGate::Needs() const noexcept {
  GateNeeds n;
  n.request_body = core_->config.max_body;
  n.overflow = GateNeeds::Overflow::kInspectPrefix;  // a request without a key streams on
  n.response_body = true;
  return n;
}

std::span<const std::string_view> IdempotencyGate::Reasons() const noexcept { return kReasons; }

void IdempotencyGate::Note(Exchange& ex, std::string_view outcome) const {
  core_->counters.Add(ex.worker, outcome);
  ex.notes.push_back({"idempotency", outcome, {}});
}

Decision IdempotencyGate::Refuse(Exchange& ex, std::uint16_t status, std::string_view reason,
                                 std::string_view outcome, std::string message,
                                 std::string headers) const {
  Note(ex, outcome);
  return Decision::Respond(status, reason, std::move(message), std::move(headers));
}

Decision IdempotencyGate::OnRequestHeaders(Exchange& ex) noexcept {
  const IdempotencyConfig& c = core_->config;
  if (!c.fencing_header.empty()) ex.upstream_headers.emplace_back(c.fencing_header, "");
  ex.slot().skip_body = true;  // until this request turns out to carry a key
  bool method = false;
  for (const auto& m : c.methods) method = method || m == ex.method;
  if (!method) return Decision::Continue();
  std::string_view value;
  int seen = 0;
  for (const auto& f : *ex.request_headers) {
    if (IEquals(f.name, c.header)) {
      value = f.value;
      ++seen;
    }
  }
  if (seen == 0) {
    if (!c.required) return Decision::Continue();
    return Refuse(ex, 400, "idempotency_key_missing", "missing_key",
                  fmt::format("this route requires an {} header: a unique key per operation, "
                              "sent again with every retry of it",
                              c.header));
  }
  std::string key;
  if (seen > 1 || !ParseKey(value, c.max_key_length, key)) {
    return Refuse(ex, 400, "idempotency_key_invalid", "invalid_key",
                  fmt::format("the {} header must appear once, as 1 to {} printable characters "
                              "(a quoted string, or a token without spaces, commas or quotes)",
                              c.header, c.max_key_length));
  }
  // Scoped by route and by who asks (how they authenticated and as whom; else their address),
  // so one client's key does not meet another's.
  std::string scope = core_->route;
  scope += '\0';
  // One route may serve several hosts (tenants): a key is theirs alone.
  scope += ToLower(ex.host);
  scope += '\0';
  if (ex.identity.principal.empty()) {
    scope += "addr:" + ex.client_address.to_string();
  } else {
    scope += "principal:";
    scope += ex.identity.method;
    scope += ':';
    scope += ex.identity.principal;
  }
  scope += '\0';
  scope += key;
  const std::string id = Hex(Sha256(scope));
  auto held = std::make_unique<Held>();
  held->key = "k:" + id;
  ex.slot().state = std::move(held);
  ex.slot().skip_body = false;  // the fingerprint needs the whole body
  return Decision::Continue();
}

Decision IdempotencyGate::OnRequestBody(Exchange& ex, std::string_view body,
                                        bool complete) noexcept {
  Held* h = HeldOf(ex);
  if (h == nullptr) return Decision::Continue();
  if (!complete) {
    ex.slot().state.reset();
    return Refuse(ex, 413, "idempotency_body_too_large", "body_too_large",
                  fmt::format("a request with an idempotency key may carry at most {} bytes",
                              core_->config.max_body));
  }
  std::string what(ex.method);
  what += '\n';
  what += ex.path;  // normalized: two spellings of one target are one request
  what += '?';
  what += ex.query;
  what += '\n';
  // The same bytes as another type are another request (form and JSON parse them apart).
  if (ex.request_headers != nullptr) what += ToLower(ex.request_headers->Get("content-type"));
  what += '\n';
  what += Hex(Sha256(body));
  h->fingerprint = Hex(Sha256(what));
  return Decision::Await();
}

asio::awaitable<Decision> IdempotencyGate::OnRequestBodyAsync(Exchange& ex, std::string_view,
                                                              bool) noexcept {
  Held* h = HeldOf(ex);
  if (h == nullptr) co_return Decision::Continue();
  const Core& core = *core_;
  const IdempotencyConfig& c = core.config;
  h->executor = co_await asio::this_coro::executor;
  const SteadyTime give_up = core.clock() + c.wait_timeout;
  auto poll = std::chrono::milliseconds(10);
  bool unavailable = false;
  // Take the lease; when another request holds the key, read its record (and, waiting, read it
  // again until it completes or disappears: only then try for the lease again).
  bool acquire = true;
  int churn = 0;  // the key vanished between our tries: bounded, it is not waiting
  for (;;) {
    if (acquire) {
      const state::KvResult fence = co_await core.store->Increment(kFenceKey, kFenceTtl, ex.worker);
      if (fence.status != KvStatus::kOk) {
        unavailable = true;
        break;
      }
      const auto token = static_cast<std::uint64_t>(fence.number);
      std::string nonce = Nonce();
      std::string in_flight = EncodeInFlight(token, h->fingerprint, nonce);
      const SteadyTime asked = core.clock();
      const KvStatus set = co_await core.store->SetIfAbsent(h->key, in_flight, c.lease, ex.worker);
      if (set == KvStatus::kOk) {
        h->holder = true;
        h->record = std::move(in_flight);
        h->nonce = std::move(nonce);
        h->token = token;
        h->acquired = asked;
        ex.retry_safe = true;  // the origin sees this key once: retrying its attempt is safe
        if (!c.fencing_header.empty()) {
          ex.FillUpstreamHeader(c.fencing_header, std::to_string(token));
        }
        Note(ex, "first");
        co_return Decision::Continue();
      }
      if (set != KvStatus::kExists) {
        unavailable = true;
        break;
      }
    }
    const state::KvResult got = co_await core.store->Get(h->key, ex.worker);
    if (got.status == KvStatus::kNotFound) {  // released or expired since: try again
      if (++churn > 8) break;
      acquire = true;
      continue;
    }
    if (got.status != KvStatus::kOk) {
      unavailable = true;
      break;
    }
    Record rec;
    if (!DecodeRecord(got.value, rec)) {
      spdlog::error("idempotency: route {}: a stored record could not be read", core.route);
      co_return Refuse(ex, 500, "idempotency_record_unreadable", "unreadable",
                       "the stored result for this idempotency key cannot be read");
    }
    if (rec.fingerprint != h->fingerprint) {
      co_return Refuse(ex, 422, "idempotency_key_reused", "mismatch",
                       "this idempotency key was used for a different request (method, target "
                       "or body); use a new key for a new operation");
    }
    if (rec.state == State::kNoReplay) {
      co_return Refuse(ex, 409, "idempotency_not_replayable", "not_replayable",
                       rec.status == 0
                           ? std::string("an earlier request with this key ended without an "
                                         "answer; the origin may have acted on it, so it is not "
                                         "sent again")
                           : fmt::format("an earlier request with this key completed with status "
                                         "{}, but its response was not stored for replay",
                                         rec.status));
    }
    if (rec.state == State::kDone) {
      const std::string aad = Aad(h->key, DoneHead(rec.token, rec.fingerprint, rec.key_id));
      std::string plain;
      Response resp;
      if (!core.sealer.Open(rec.key_id, rec.sealed, aad, plain) || !DecodeResponse(plain, resp)) {
        spdlog::error("idempotency: route {}: a stored response did not open under key id '{}'",
                      core.route, rec.key_id);
        co_return Refuse(ex, 500, "idempotency_record_unreadable", "unreadable",
                         "the stored result for this idempotency key cannot be read");
      }
      auto stored = std::make_shared<StoredResponse>();
      stored->status = resp.status;
      stored->headers = std::move(resp.headers);
      stored->body = std::move(resp.body);
      ex.slot().state.reset();
      Note(ex, "replayed");
      co_return Decision::Serve(std::move(stored), "idempotent_replay",
                                "Idempotent-Replayed: true\r\n");
    }
    if (rec.state == State::kAnswered && core.wall() - rec.since_ms > c.lease.count()) {
      // Answered long ago and never completed: its holder died while sending the answer.
      co_return Refuse(ex, 409, "idempotency_not_replayable", "not_replayable",
                       fmt::format("an earlier request with this key was answered with status {}, "
                                   "but its response was not stored for replay",
                                   rec.status));
    }
    // In flight for another request, or answered and on its way.
    if (!c.wait || core.clock() >= give_up) break;
    asio::steady_timer t(h->executor);
    t.expires_after(std::min<std::chrono::steady_clock::duration>(
        poll,
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(give_up - core.clock())));
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    poll = std::min(poll * 2, std::chrono::milliseconds(200));
    acquire = false;
  }
  ex.slot().state.reset();
  if (unavailable) {
    if (c.on_store_failure == StoreFailure::kAllow) {
      Note(ex, "store_failure_allowed");
      co_return Decision::Continue();
    }
    co_return Refuse(ex, 503, "store_unavailable", "store_unavailable",
                     "the idempotency store is unavailable; retry with the same key");
  }
  co_return Refuse(ex, 409, "idempotency_in_flight", "conflict",
                   "a request with this idempotency key is still being processed; retry later "
                   "with the same key",
                   fmt::format("Retry-After: {}\r\n", c.retry_after.count()));
}

Decision IdempotencyGate::OnResponseHeaders(Exchange& ex) noexcept {
  Held* h = HeldOf(ex);
  if (h == nullptr || !h->holder || h->done || !h->pending.empty()) return Decision::Continue();
  const IdempotencyConfig& c = core_->config;
  if (core_->clock() - h->acquired >= c.lease) Note(ex, "lease_expired");
  h->status = ex.response.status;
  h->from_origin = ex.response.from_origin();
  h->headers.clear();
  h->pending_no_replay = true;
  if (!h->from_origin) {
    // rampart's own answer (a 502, a 504): the key is released when no attempt can have reached
    // the origin, else kept from executing again. Written before the client hears, so a retry
    // right after it finds the key in its final state.
    if (!(c.release_on_connect_failure && !ex.response.request_sent)) {
      h->pending = EncodeNoReplay(h->token, h->fingerprint, h->status);
    }
    h->done = true;
    return Decision::Await();
  }
  if (h->status >= 500 && c.release_on_server_error) {  // the origin failed: the key is free
    h->done = true;
    return Decision::Await();
  }
  const http::HeaderList& fields = *ex.response.headers;
  const http::ConnectionTokens listed(fields);
  for (const auto& f : fields) {
    if (http::IsHopByHop(f.name) || listed.Contains(f.name) || IEquals(f.name, "content-length") ||
        IEquals(f.name, "x-request-id")) {
      continue;
    }
    h->headers.emplace_back(f.name, f.value);
  }
  // The origin acted: from now on the key must never execute again, however long the answer
  // takes to reach the client. The answered record replaces the lease, for `retention`.
  h->pending = EncodeAnswered(h->token, h->fingerprint, h->nonce, h->status, core_->wall());
  h->pending_no_replay = false;
  return Decision::Await();
}

asio::awaitable<Decision> IdempotencyGate::OnResponseHeadersAsync(Exchange& ex) noexcept {
  Held* h = HeldOf(ex);
  std::string next = std::move(h->pending);
  h->pending.clear();
  const bool answered = !h->done;
  const KvStatus s = co_await WriteRecord(core_, h->key, h->record, next, h->pending_no_replay,
                                          /*count=*/!answered, ex.worker);
  if (!answered) co_return Decision::Continue();
  if (s == KvStatus::kOk) {
    h->record = std::move(next);
  } else {
    h->done = true;  // another holder owns the key now, or the store is down: nothing more
  }
  co_return Decision::Continue();
}

void IdempotencyGate::OnResponseBody(Exchange& ex, std::string_view piece, bool end) noexcept {
  Held* h = HeldOf(ex);
  if (h == nullptr || !h->holder || h->done || !h->from_origin) return;
  if (!h->too_large) {
    if (h->body.size() + piece.size() > core_->config.max_response) {
      h->too_large = true;
      std::string().swap(h->body);
    } else {
      h->body.append(piece);
    }
  }
  if (end) h->body_end = true;
}

std::string IdempotencyGate::Final(const Exchange& ex, Held& h, bool& no_replay) const {
  no_replay = true;
  if (h.body_end && !h.too_large) {
    // What the client got: fields a gate or the route removed are not replayed either.
    const config::HeaderRules* rules =
        ex.route != nullptr ? &ex.route->config->response_headers : nullptr;
    std::erase_if(h.headers, [&](const auto& f) {
      return http::RemovedFromResponse(f.first, rules, &ex.response_remove);
    });
    const std::string head = DoneHead(h.token, h.fingerprint, core_->sealer.active_id());
    std::string record = head;
    bool sealed = true;
    if (core_->sealer.encrypts()) {
      sealed =
          core_->sealer.Seal(EncodeResponse(h.status, h.headers, h.body), Aad(h.key, head), record);
    } else {
      AppendResponse(record, h.status, h.headers, h.body);  // stored as it is (key id "-")
    }
    if (sealed) {
      no_replay = false;
      return record;
    }
  }
  return EncodeNoReplay(h.token, h.fingerprint, h.status);
}

void IdempotencyGate::OnComplete(const Exchange& ex, const Completion& done) noexcept {
  Held* h = HeldOf(ex);
  if (h == nullptr || !h->holder || h->done) return;
  const IdempotencyConfig& c = core_->config;
  bool no_replay = true;
  std::string record;
  if (h->from_origin) {
    record = Final(ex, *h, no_replay);  // over the answered record
  } else if (!(c.release_on_connect_failure && !done.request_sent)) {
    // No answer reached the response phase (the client left first): the origin may have acted.
    record = EncodeNoReplay(h->token, h->fingerprint, done.status);
  }
  asio::co_spawn(h->executor,
                 WriteFinal(core_, h->key, h->record, std::move(record), no_replay, ex.worker),
                 asio::detached);
}

std::unique_ptr<Gate> MakeIdempotencyGate(const YAML::Node& settings, GateContext& ctx) {
  auto core = std::make_shared<Core>();
  IdempotencyConfig& c = core->config;
  if (!IdempotencyFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  // A lease that ends while the origin may still be answering hands the key to a retry that
  // then runs beside the first execution (the fencing token keeps the first from overwriting the
  // second's answer, but both executed).
  if (auto up = ctx.config.upstreams.find(ctx.route.upstream);
      up != ctx.config.upstreams.end() && c.lease <= up->second.response_timeout) {
    spdlog::warn(
        "{}.lease ({}ms) is not longer than upstream '{}' timeouts.response ({}ms): a "
        "request still waiting for its answer can lose its key to a retry",
        ctx.where, c.lease.count(), ctx.route.upstream,
        std::chrono::duration_cast<std::chrono::milliseconds>(up->second.response_timeout).count());
  }
  std::vector<SealKey> keys;
  for (const auto& k : c.encryption_keys) {
    SealKey key;
    key.id = k.id;
    std::string error;
    if (!Sealer::ReadKeyFile(k.file, key, error)) {
      ctx.reader.Error(settings, fmt::format("{}.encryption_keys: {}", ctx.where, error));
      return nullptr;
    }
    keys.push_back(std::move(key));
  }
  core->sealer = Sealer(std::move(keys));
  state::KvSpec spec;
  // A store per route: one route's keys (a client filling it) never crowd out another's.
  spec.name = "idempotency." + ctx.route.name;
  spec.shared = c.store_shared;
  spec.on_failure = state::KvFailureFor(c.on_store_failure);
  spec.max_keys = c.max_records;
  std::string error;
  core->store = ctx.stores.Kv(spec, ctx.config.state, &error);
  if (!core->store) {
    ctx.reader.Error(settings, fmt::format("{}.store: {}", ctx.where, error));
    return nullptr;
  }
  core->route = ctx.route.name;
  static constexpr observe::CounterDef<2> kRequests{
      "rampart_idempotency_requests_total",
      "idempotency gate outcomes, by route: decisions on requests and writes of their results.",
      {"route", "outcome"}};
  core->counters = observe::OutcomeCounters(ctx.metrics, kRequests, ctx.route.name, kOutcomes);
  return std::make_unique<IdempotencyGate>(std::move(core));
}

}  // namespace rampart::idempotency
