// The ip_list gate: a route's allow and deny lists over the client address (after the
// client_ip stage), answering 403 `ip_denied`. The same lists on a listener close the
// connection at accept instead (downstream/http1_connection.cc). See README.md.
#pragma once

#include <memory>

#include "gates/ip_list/ip_list.h"
#include "observe/metrics.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"

namespace rampart::ip_list {

class IpListGate final : public Gate {
 public:
  IpListGate(std::shared_ptr<IpList> list, observe::CounterSeries* allowed,
             observe::CounterSeries* denied)
      : list_(std::move(list)), allowed_(allowed), denied_(denied) {}
  std::string_view Name() const noexcept override { return "ip_list"; }
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;

 private:
  std::shared_ptr<IpList> list_;
  observe::CounterSeries* allowed_;
  observe::CounterSeries* denied_;
};

std::unique_ptr<Gate> MakeIpListGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::ip_list
