// One request/response pair as the gates see it. Owned by the downstream session and reused
// across the requests of a connection; views point into the session's buffers and are valid for
// the duration of the exchange.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "http/message.h"

namespace rampart {

struct CompiledRoute;
namespace tls {
struct PeerIdentity;
}

struct GateNote {
  std::string_view gate;     // gate name
  std::string_view outcome;  // "pass", a reason token, "shadow:<reason>", ...
  std::string_view detail;   // optional: which rule or limit (storage owned by the gate)
};

// What a principal may do: roles, scopes and attributes (claims as "claim.<name>", one entry per
// item of an array claim; "tier"). Built once by the authentication gate and shared, immutable,
// by every request it authenticates (a cached token, an API key), so a request copies a pointer.
struct Grants {
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  std::vector<std::pair<std::string, std::string>> attributes;
};

// Who the client is, set by authentication gates; later gates (rate-limit keys, authorization)
// read it. Empty principal = anonymous.
struct Identity {
  std::string principal;
  std::string_view method;  // what authenticated it: "jwt", "api_key", "session", "mtls"
  std::string api_key;      // the id of the API key that authenticated the request, if any
  std::shared_ptr<const Grants> grants;  // null: none

  const std::vector<std::string>& roles() const noexcept {
    return grants ? grants->roles : Empty().roles;
  }
  const std::vector<std::string>& scopes() const noexcept {
    return grants ? grants->scopes : Empty().scopes;
  }
  const std::vector<std::pair<std::string, std::string>>& attributes() const noexcept {
    return grants ? grants->attributes : Empty().attributes;
  }
  std::string_view Attribute(std::string_view name) const noexcept {
    for (const auto& [k, v] : attributes()) {
      if (k == name) return v;
    }
    return {};
  }
  bool HasRole(std::string_view r) const noexcept {
    for (const auto& x : roles()) {
      if (x == r) return true;
    }
    return false;
  }
  bool HasScope(std::string_view s) const noexcept {
    for (const auto& x : scopes()) {
      if (x == s) return true;
    }
    return false;
  }
  void Clear() {
    principal.clear();
    method = {};
    api_key.clear();
    grants.reset();
  }

 private:
  static const Grants& Empty() noexcept {
    static const Grants empty;
    return empty;
  }
};

// State a gate keeps between the phases of one exchange: a number, or an object the driver
// destroys when the exchange ends (after OnComplete).
struct GateState {
  virtual ~GateState() = default;
};
struct GateSlot {
  std::uint64_t value = 0;
  std::unique_ptr<GateState> state;
  // Set in the request phase by a gate that declared a request-body need but has no use for
  // this exchange's body (the idempotency gate on a request without a key): unless another gate
  // wants it, the body then streams to the upstream instead of being held.
  bool skip_body = false;
};

// The response about to be sent, as OnResponseHeaders sees it.
struct ResponseView {
  int status = 0;
  // The origin's head; null when the answer is rampart's own (a local reply, a 502 or 504, a
  // stored response).
  const http::HeaderList* headers = nullptr;
  std::string_view reason;  // rampart's own answer: its reason token ("upstream_timeout", ...)
  // rampart's own answer after upstream attempts: some attempt sent the origin (a byte of) the
  // request, so it may have acted (as Completion::request_sent).
  bool request_sent = false;
  bool from_origin() const noexcept { return headers != nullptr; }
};

struct Exchange {
  // Request, as received.
  std::string_view method;
  std::string_view target;     // as sent by the client
  std::string_view path;       // target without the query
  std::string_view query;      // without '?'
  std::string_view authority;  // Host (or absolute-form authority) as sent, port included
  std::string_view host;       // authority without the port
  int version = 11;
  const http::HeaderList* request_headers = nullptr;

  // Connection.
  boost::asio::ip::address client_address;
  std::uint16_t client_port = 0;
  std::string_view listener;
  bool from_trusted_peer = false;
  bool is_tls = false;
  const tls::PeerIdentity* peer = nullptr;  // TLS listeners: the client certificate, if any
  int worker = 0;  // index of the worker running the exchange: per-worker counters and clients

  // Decided by the core.
  std::string_view request_id;
  const CompiledRoute* route = nullptr;
  SteadyTime start{};
  Identity identity;
  // A gate made sending the request again harmless (an idempotency key): upstream retry
  // policies may retry it whatever its method.
  bool retry_safe = false;
  // Set by a gate that answers from a store but wants the origin asked anyway (a cache's
  // stale-while-revalidate): once the answer is on its way, the driver sends a copy of the
  // request upstream in the background, starting at gate `refresh_gate`. -1: none.
  int refresh_gate = -1;
  // This exchange is such a copy: it starts at `refresh_gate` (the gates before it ran for the
  // original, whose identity and upstream headers it carries) and nobody waits for its answer.
  bool background = false;

  // Gates may add request headers for the upstream (e.g. a verified identity). A client-sent
  // header of the same name is never forwarded; an entry with an empty value only removes it.
  std::vector<std::pair<std::string, std::string>> upstream_headers;
  // Gives the header `name` a gate claimed earlier (an entry with an empty value) its value.
  void FillUpstreamHeader(std::string_view name, std::string_view value) {
    for (auto& [n, v] : upstream_headers) {
      if (n == name && v.empty()) {
        v.assign(value);
        return;
      }
    }
  }
  // Gates may remove query parameters before forwarding (a token passed in the query), by name
  // (storage owned by the gate).
  std::vector<std::string_view> query_remove;
  std::vector<GateNote> notes;
  // Gates may add response header lines for the client, each "Name: value\r\n" (RateLimit).
  std::string response_headers;

  // Response (set before OnResponseHeaders and for OnComplete).
  int status = 0;
  ResponseView response;
  // Gates may remove fields of the origin's response (names; storage owned by the gate).
  std::vector<std::string_view> response_remove;

  // One slot per gate of the route, indexed as route.gates; gate_index is the gate being called.
  std::vector<GateSlot> slots;
  std::size_t gate_index = 0;
  GateSlot& slot() noexcept { return slots[gate_index]; }

  void Reset() {
    method = target = path = query = authority = host = {};
    version = 11;
    request_headers = nullptr;
    request_id = {};
    route = nullptr;
    identity.Clear();
    retry_safe = false;
    refresh_gate = -1;
    background = false;
    upstream_headers.clear();
    query_remove.clear();
    notes.clear();
    response_headers.clear();
    status = 0;
    response = {};
    response_remove.clear();
    slots.clear();
    gate_index = 0;
  }
};

}  // namespace rampart
