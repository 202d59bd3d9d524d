// The mtls gate: lets a request through only when the client proved a certificate identity that
// the route allows (SPIFFE IDs, trust domains, subjects), and forwards that identity upstream in a
// header no client can forge. See README.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/fields.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"

namespace rampart::mtls {

struct MtlsConfig {
  std::vector<std::string> spiffe_ids;
  std::vector<std::string> trust_domains;
  std::vector<std::string> subjects;  // RFC 2253, as rampart prints them
  std::string forward_header;         // empty: none
};

class MtlsGate final : public Gate {
 public:
  explicit MtlsGate(MtlsConfig config) : config_(std::move(config)) {}
  std::string_view Name() const noexcept override { return "mtls"; }
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  std::span<const std::string_view> Reasons() const noexcept override;

 private:
  bool Allowed(const tls::PeerIdentity& peer) const noexcept;
  MtlsConfig config_;
};

// The gate's keys, declared once (config/fields.h).
const config::Fields<MtlsConfig>& MtlsFields();
std::unique_ptr<Gate> MakeMtlsGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::mtls
