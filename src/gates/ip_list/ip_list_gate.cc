#include "gates/ip_list/ip_list_gate.h"

#include <fmt/format.h>

namespace rampart::ip_list {

namespace {
constexpr std::string_view kReasons[] = {"ip_denied"};
}  // namespace

std::span<const std::string_view> IpListGate::Reasons() const noexcept { return kReasons; }

Decision IpListGate::OnRequestHeaders(Exchange& ex) noexcept {
  if (!list_->Denies(ex.client_address)) {
    allowed_->Add(ex.worker);
    return Decision::Continue();
  }
  denied_->Add(ex.worker);
  ex.notes.push_back({"ip_list", "ip_denied", list_->name()});
  return Decision::Respond(403, kReasons[0], "the client address may not use this route");
}

std::unique_ptr<Gate> MakeIpListGate(const YAML::Node& settings, GateContext& ctx) {
  IpListSpec spec;
  if (!IpListFields().Read(ctx.reader, settings, ctx.where, spec)) return nullptr;
  const std::string& file = ctx.config.file;
  const auto slash = file.rfind('/');
  std::string error;
  auto list = IpList::Build("route:" + ctx.route.name, std::move(spec),
                            slash == std::string::npos ? "." : file.substr(0, slash), &error);
  if (!list) {
    ctx.reader.Error(settings, fmt::format("{}: {}", ctx.where, error));
    return nullptr;
  }
  IpListWatch::Instance().Add(list);
  static constexpr observe::CounterDef<2> kRequests{
      "rampart_ip_list_requests_total",
      "Requests the ip_list gate judged, by route and decision.",
      {"route", "decision"}};
  return std::make_unique<IpListGate>(std::move(list),
                                      ctx.metrics.Counter(kRequests, {ctx.route.name, "allowed"}),
                                      ctx.metrics.Counter(kRequests, {ctx.route.name, "denied"}));
}

}  // namespace rampart::ip_list
