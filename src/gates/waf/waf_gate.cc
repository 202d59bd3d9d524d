#include "gates/waf/waf_gate.h"

#include <fmt/format.h>

#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "core/strings.h"
#include "gates/waf/transaction.h"

#ifndef RAMPART_CRS_DIR
#define RAMPART_CRS_DIR "rules/crs"
#endif

namespace rampart::waf {

namespace {

constexpr std::string_view kReasons[] = {"waf_blocked"};
constexpr std::size_t kMaxLoggedValue = 256;  // the matched value's share of an audit record

std::string TimeNow() {
  std::timespec ts{};
  std::timespec_get(&ts, TIME_UTC);
  std::tm tm{};
  gmtime_r(&ts.tv_sec, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

// Values of fields that carry credentials are masked in audit records.
bool Secret(std::string_view var) {
  static constexpr std::string_view kSecret[] = {"authorization", "cookie", "password", "passwd",
                                                 "token",         "secret", "api_key",  "apikey"};
  std::string lower(var);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (auto s : kSecret) {
    if (lower.find(s) != std::string::npos) return true;
  }
  return false;
}

std::string Truncated(std::string_view v) {
  if (v.size() <= kMaxLoggedValue) return std::string(v);
  return std::string(v.substr(0, kMaxLoggedValue)) + "...";
}

}  // namespace

struct WafGate::State final : GateState {
  explicit State(const RuleSet& rules) : tx(rules) {}
  Transaction tx;
  bool blocked = false;
  bool noted = false;          // the access log has the "detected" note
  bool body_done = false;      // phase 2 ran
  bool response_body = false;  // phase 4 reads this response's body (its type is inspected)
  bool phase4_done = false;
};

WafGate::WafGate(WafConfig config, std::shared_ptr<const RuleSet> rules,
                 std::shared_ptr<observe::AccessLog> audit, Counters counters)
    : config_(std::move(config)),
      rules_(std::move(rules)),
      audit_(std::move(audit)),
      counters_(std::move(counters)) {}

GateNeeds WafGate::Needs() const noexcept {
  GateNeeds n;
  const auto& s = rules_->settings();
  if (s.request_body_access && s.mode != EngineMode::kOff) {
    n.request_body =
        static_cast<std::size_t>(std::min<std::uint64_t>(s.request_body_limit, 64u << 20));
    n.overflow =
        s.request_body_reject ? GateNeeds::Overflow::kRefuse : GateNeeds::Overflow::kInspectPrefix;
  }
  n.response_body = s.response_body_access && s.mode != EngineMode::kOff;
  return n;
}

std::span<const std::string_view> WafGate::Reasons() const noexcept { return kReasons; }

Decision WafGate::Decide(Exchange& ex, State& st, int phase) const noexcept {
  const Intervention& in = st.tx.RunPhase(phase);
  if (!in.intercepted) {
    // What would have been blocked (detect mode, DetectionOnly, a ctl) is noted once.
    if (!st.noted && std::any_of(st.tx.matches().begin(), st.tx.matches().end(),
                                 [](const MatchRecord& m) { return m.disruptive; })) {
      st.noted = true;
      ex.notes.push_back({"waf", "detected", {}});
    }
    return Decision::Continue();
  }
  st.blocked = true;
  ex.notes.push_back({"waf", "blocked", {}});
  if (in.action == Disruptive::kDrop) return Decision::Drop("waf_blocked");
  return Decision::Respond(static_cast<std::uint16_t>(in.status), kReasons[0],
                           fmt::format("blocked by the WAF (rule {})", in.rule_id));
}

Decision WafGate::OnRequestHeaders(Exchange& ex) noexcept {
  auto st = std::make_unique<State>(*rules_);
  State& s = *st;
  ex.slot().state = std::move(st);
  RequestInfo req;
  req.method = ex.method;
  req.target = ex.target;
  req.protocol = ex.version == 20 ? "HTTP/2.0" : ex.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  bool has_host = false;
  if (ex.request_headers != nullptr) {
    req.headers.reserve(ex.request_headers->size() + 1);
    for (const auto& f : *ex.request_headers) {
      if (!f.name.empty() && f.name.front() == ':') continue;
      has_host = has_host || IEquals(f.name, "host");
      req.headers.emplace_back(f.name, f.value);
    }
  }
  // HTTP/2 carries the authority as a pseudo-header; rules read it as Host, as behind nginx.
  if (!has_host && !ex.authority.empty()) req.headers.emplace_back("Host", ex.authority);
  const std::string client = ex.client_address.to_string();
  req.client_addr = client;
  req.client_port = ex.client_port;
  req.server_name = ex.host;
  req.unique_id = ex.request_id;
  s.tx.SetRequest(req);
  if (config_.mode == WafConfig::Mode::kDetect) s.tx.ForceDetectionOnly();
  Decision d = Decide(ex, s, 1);
  if (d.kind != Decision::Kind::kContinue || Needs().request_body > 0) return d;
  // No body is held (SecRequestBodyAccess Off): phase 2 runs now, on the head alone, so its
  // rules (and CRS's blocking evaluation) are never skipped.
  const std::string_view ct =
      ex.request_headers != nullptr ? ex.request_headers->Get("content-type") : std::string_view();
  s.tx.SetRequestBody({}, true, ct);
  return Decide(ex, s, 2);
}

Decision WafGate::OnRequestBody(Exchange& ex, std::string_view body, bool complete) noexcept {
  auto* s = static_cast<State*>(ex.slot().state.get());
  if (s == nullptr || s->blocked || s->body_done) return Decision::Continue();
  s->body_done = true;
  const std::string_view ct =
      ex.request_headers != nullptr ? ex.request_headers->Get("content-type") : std::string_view();
  s->tx.SetRequestBody(body, complete, ct);
  return Decide(ex, *s, 2);
}

Decision WafGate::OnResponseHeaders(Exchange& ex) noexcept {
  auto* s = static_cast<State*>(ex.slot().state.get());
  if (s == nullptr || s->blocked || !ex.response.from_origin()) return Decision::Continue();
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  headers.reserve(ex.response.headers->size());
  for (const auto& f : *ex.response.headers) headers.emplace_back(f.name, f.value);
  s->tx.SetResponse(ex.response.status, ex.version == 20 ? "HTTP/2.0" : "HTTP/1.1", headers);
  if (s->tx.response_body_access()) {
    std::string_view type = ex.response.headers->Get("content-type");
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    const auto& types = rules_->settings().response_mime_types;
    s->response_body = std::any_of(types.begin(), types.end(),
                                   [&](const std::string& t) { return IEquals(t, type); });
  }
  return Decide(ex, *s, 3);
}

void WafGate::OnResponseBody(Exchange& ex, std::string_view piece, bool end) noexcept {
  // Phase 4 sees the body as it streams to the client: it can log and count what it finds, not
  // take back bytes already sent (README.md).
  auto* s = static_cast<State*>(ex.slot().state.get());
  if (s == nullptr || !s->response_body || s->phase4_done) return;
  s->tx.AppendResponseBody(piece);
  if (end) {
    s->phase4_done = true;
    s->tx.RunPhase(4);
  }
}

void WafGate::OnComplete(const Exchange& ex, const Completion& c) noexcept {
  auto* s = static_cast<State*>(ex.slots[ex.gate_index].state.get());
  if (s == nullptr) return;
  if (s->response_body && !s->phase4_done) s->tx.RunPhase(4);  // the body was cut short
  s->tx.RunPhase(5);
  const auto& matches = s->tx.matches();
  const bool detected =
      !s->blocked && std::any_of(matches.begin(), matches.end(),
                                 [](const MatchRecord& m) { return m.disruptive; });
  auto* counter = s->blocked ? counters_.blocked : detected ? counters_.detected : counters_.pass;
  if (counter != nullptr) counter->Add(ex.worker);
  for (const auto& m : matches) {
    const auto& files = rules_->files();
    const auto it = std::find(files.begin(), files.end(), m.rule->file);
    const auto i = static_cast<std::size_t>(it - files.begin());
    if (i < counters_.per_file.size() && counters_.per_file[i] != nullptr) {
      counters_.per_file[i]->Add(ex.worker);
    }
  }
  if (matches.empty() || !audit_) return;
  std::string line;
  line.reserve(512);
  line += "{\"time\":";
  AppendJsonString(line, TimeNow());
  line += ",\"request_id\":";
  AppendJsonString(line, ex.request_id);
  line += ",\"client\":";
  AppendJsonString(line, ex.client_address.to_string());
  line += ",\"method\":";
  AppendJsonString(line, ex.method);
  line += ",\"uri\":";
  AppendJsonString(line, ex.target);
  line += ",\"status\":" + std::to_string(c.status);
  line += ",\"action\":";
  AppendJsonString(line, s->blocked ? "blocked" : detected ? "detected" : "logged");
  line += fmt::format(",\"inbound_score\":{},\"outbound_score\":{},\"paranoia\":{}",
                      s->tx.TxInt("blocking_inbound_anomaly_score"),
                      s->tx.TxInt("blocking_outbound_anomaly_score"),
                      s->tx.TxInt("blocking_paranoia_level"));
  // What SecWebAppId and SecComponentSignature say (CRS signs itself "OWASP_CRS/4.28.0").
  line += ",\"web_app_id\":";
  AppendJsonString(line, rules_->settings().web_app_id);
  line += ",\"components\":";
  AppendJsonString(line, rules_->settings().component_signature);
  line += ",\"rules\":[";
  bool first = true;
  for (const auto& m : matches) {
    if (!first) line += ',';
    first = false;
    line += fmt::format("{{\"id\":{},\"file\":", m.id);
    AppendJsonString(line, m.rule->file);
    line += fmt::format(",\"line\":{},\"msg\":", m.rule->line);
    AppendJsonString(line, m.msg);
    line += ",\"data\":";
    AppendJsonString(line, Secret(m.var) ? std::string("(masked)") : Truncated(m.data));
    line += fmt::format(",\"severity\":{},\"var\":", m.severity);
    AppendJsonString(line, m.var);
    line += ",\"value\":";
    AppendJsonString(line, Secret(m.var) ? std::string("(masked)") : Truncated(m.value));
    line += '}';
  }
  line += "]}";
  audit_->Write(line);
}

std::shared_ptr<const RuleSet> LoadRules(const WafConfig& config, std::string& error) {
  const std::string crs = config.crs_dir.empty() ? std::string(RAMPART_CRS_DIR) : config.crs_dir;
  std::vector<Directive> directives;
  const std::string prologue = SettingsPrologue(config);
  if (!ReadSecLangText(prologue, "<waf settings>", directives, error)) return nullptr;
  std::string key = prologue;
  for (const auto& r : config.rules) {
    if (r == "crs") {
      if (!ReadSecLangFiles(crs + "/crs-setup.conf.example", directives, error) ||
          !ReadSecLangFiles(crs + "/rules/*.conf", directives, error)) {
        return nullptr;
      }
    } else if (!ReadSecLangFiles(r, directives, error)) {
      return nullptr;
    }
    key += "\n" + r;
  }
  const std::string epilogue = SettingsEpilogue(config);
  if (!ReadSecLangText(epilogue, "<waf exclusions>", directives, error)) return nullptr;
  key += "\n" + epilogue;
  // Routes naming the same rules share one compiled set. The key is the directives as read
  // (so an edited rule file is compiled again on reload) and every file beside the rule files,
  // by name, size and modification time (data files such as @pmFromFile's lists).
  std::set<std::string> dirs;
  for (const auto& d : directives) {
    key += d.file;
    key += d.name;
    for (const auto& a : d.args) key += "\x1f" + a;
    key += '\n';
    const auto slash = d.file.find_last_of('/');
    if (slash != std::string::npos) dirs.insert(d.file.substr(0, slash));
  }
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      std::error_code fec;
      const auto size = e.is_regular_file(fec) ? e.file_size(fec) : 0;
      const auto mtime = e.last_write_time(fec).time_since_epoch().count();
      key += fmt::format("{}:{}:{}\n", e.path().string(), size, mtime);
    }
  }
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<const RuleSet>> loaded;
  std::lock_guard<std::mutex> lock(mu);
  std::erase_if(loaded, [](const auto& kv) { return kv.second.expired(); });
  if (auto it = loaded.find(key); it != loaded.end()) {
    if (auto set = it->second.lock()) return set;
  }
  auto set = RuleSet::Build(directives, error);
  if (set) loaded[key] = set;
  return set;
}

std::unique_ptr<Gate> MakeWafGate(const YAML::Node& settings, GateContext& ctx) {
  WafConfig c;
  if (!WafFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  std::string error;
  auto rules = LoadRules(c, error);
  if (!rules) {
    ctx.reader.Error(settings, fmt::format("{}.rules: {}", ctx.where, error));
    return nullptr;
  }
  std::shared_ptr<observe::AccessLog> audit;
  if (!c.audit_log.empty()) {
    config::AccessLog where;
    where.path = c.audit_log;
    audit = observe::AccessLog::Open(where, &error);
    if (!audit) {
      ctx.reader.Error(settings, fmt::format("{}.audit_log: {}", ctx.where, error));
      return nullptr;
    }
  }
  static constexpr observe::CounterDef<2> kDecisions{
      "rampart_waf_decisions_total",
      "WAF gate decisions by route: pass, blocked, detected (would have blocked in detect mode).",
      {"route", "decision"}};
  static constexpr observe::CounterDef<2> kMatches{
      "rampart_waf_rule_matches_total",
      "Logged WAF rule matches by route and rule file.",
      {"route", "file"}};
  WafGate::Counters counters;
  counters.pass = ctx.metrics.Counter(kDecisions, {ctx.route.name, "pass"});
  counters.blocked = ctx.metrics.Counter(kDecisions, {ctx.route.name, "blocked"});
  counters.detected = ctx.metrics.Counter(kDecisions, {ctx.route.name, "detected"});
  for (const auto& f : rules->files()) {
    counters.per_file.push_back(ctx.metrics.Counter(kMatches, {ctx.route.name, f}));
  }
  return std::make_unique<WafGate>(std::move(c), std::move(rules), std::move(audit),
                                   std::move(counters));
}

}  // namespace rampart::waf
