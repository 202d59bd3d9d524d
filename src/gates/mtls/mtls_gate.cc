#include "gates/mtls/mtls_gate.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/strings.h"
#include "net/tls/server_tls.h"

namespace rampart::mtls {

namespace {
constexpr std::string_view kReasons[] = {"client_certificate_required",
                                         "client_identity_forbidden"};
}  // namespace

std::span<const std::string_view> MtlsGate::Reasons() const noexcept { return kReasons; }

bool MtlsGate::Allowed(const tls::PeerIdentity& peer) const noexcept {
  const bool any_rule =
      !config_.spiffe_ids.empty() || !config_.trust_domains.empty() || !config_.subjects.empty();
  if (!any_rule) return true;
  auto in = [](const std::vector<std::string>& list, std::string_view v) {
    return !v.empty() && std::find(list.begin(), list.end(), v) != list.end();
  };
  return in(config_.spiffe_ids, peer.spiffe_id) || in(config_.trust_domains, peer.TrustDomain()) ||
         in(config_.subjects, peer.subject);
}

Decision MtlsGate::OnRequestHeaders(Exchange& ex) noexcept {
  // The header is always claimed, so a client-sent one is dropped even when none is forwarded.
  if (!config_.forward_header.empty()) ex.upstream_headers.emplace_back(config_.forward_header, "");
  if (ex.peer == nullptr || !ex.peer->verified) {
    return Decision::Respond(403, kReasons[0], "this route needs a verified client certificate");
  }
  if (!Allowed(*ex.peer)) {
    return Decision::Respond(403, kReasons[1],
                             "the client certificate's identity is not allowed on this route");
  }
  const std::string& id = ex.peer->spiffe_id.empty() ? ex.peer->subject : ex.peer->spiffe_id;
  if (ex.identity.principal.empty()) {
    ex.identity.principal = id;
    ex.identity.method = "mtls";
  }
  if (!config_.forward_header.empty()) ex.upstream_headers.back().second = id;
  return Decision::Continue();
}

const config::Fields<MtlsConfig>& MtlsFields() {
  static const config::Fields<MtlsConfig> fields =
      config::Fields<MtlsConfig>()
          .Custom("allow_spiffe_ids",
                  [](config::YamlReader& r, const YAML::Node& n, const std::string& path,
                     MtlsConfig& c) {
                    if (!r.StringList(n, path, c.spiffe_ids)) return false;
                    for (const auto& id : c.spiffe_ids) {
                      if (!id.starts_with("spiffe://") || id.size() <= 9) {
                        r.Error(n, fmt::format(
                                       "{}: '{}' is not a SPIFFE ID (spiffe://trust-domain/path)",
                                       path, id));
                        return false;
                      }
                    }
                    return true;
                  })
          .StringList("allow_trust_domains", &MtlsConfig::trust_domains)
          .StringList("allow_subjects", &MtlsConfig::subjects)
          .String("forward_header", &MtlsConfig::forward_header);
  return fields;
}

std::unique_ptr<Gate> MakeMtlsGate(const YAML::Node& settings, GateContext& ctx) {
  // The route must be reachable only through listeners that ask for client certificates;
  // the gate itself refuses requests without a verified one, so a plain listener gets 403s.
  MtlsConfig c;
  if (!MtlsFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  return std::make_unique<MtlsGate>(std::move(c));
}

}  // namespace rampart::mtls
