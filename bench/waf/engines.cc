#include "engines.h"

#include <modsecurity/rule_message.h>
#include <modsecurity/transaction.h>
#include <strings.h>

#include "gates/waf/seclang_reader.h"

namespace rampart::bench {
namespace {

// ModSecurity parses JSON and XML bodies only when told to, by these two rules of its
// recommended configuration (200000, 200001); rampart picks the processor by Content-Type itself.
const char* kModSecurityBodyProcessors =
    "SecRule REQUEST_HEADERS:Content-Type \"^(?:application(?:/soap\\+|/)|text/)xml\" "
    "\"id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML\"\n"
    "SecRule REQUEST_HEADERS:Content-Type \"^application/json\" "
    "\"id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON\"\n";

bool Compared(std::int64_t id) { return id != 949110 && id != 959100 && id / 1000 != 980; }

}  // namespace

std::string WafSetup(int paranoia) {
  return "SecRuleEngine On\nSecRequestBodyAccess On\n"
         "SecAction \"id:899100,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=" +
         std::to_string(paranoia) +
         ",setvar:tx.detection_paranoia_level=" + std::to_string(paranoia) + "\"\n";
}

std::shared_ptr<const waf::RuleSet> LoadRampartCrs(const std::string& crs, int paranoia,
                                                   std::string& error) {
  std::vector<waf::Directive> ds;
  if (!waf::ReadSecLangText(WafSetup(paranoia), "<setup>", ds, error) ||
      !waf::ReadSecLangFiles(crs + "/crs-setup.conf.example", ds, error) ||
      !waf::ReadSecLangFiles(crs + "/rules/*.conf", ds, error)) {
    return nullptr;
  }
  return waf::RuleSet::Build(ds, error);
}

ModSecurityEngine::~ModSecurityEngine() {
  delete rules;
  delete ms;
}

bool LoadModSecurityCrs(const std::string& crs, int paranoia, ModSecurityEngine& out,
                        std::string& error) {
  out.ms = new modsecurity::ModSecurity();
  out.ms->setServerLogCb(
      [](void* data, const void* message) {
        auto* ids = static_cast<std::set<std::int64_t>*>(data);
        const auto* m = static_cast<const modsecurity::RuleMessage*>(message);
        if (ids != nullptr && m != nullptr && Compared(m->m_ruleId)) ids->insert(m->m_ruleId);
      },
      modsecurity::RuleMessageLogProperty);
  out.rules = new modsecurity::RulesSet();
  if (out.rules->load((WafSetup(paranoia) + kModSecurityBodyProcessors).c_str()) < 0 ||
      out.rules->loadFromUri((crs + "/crs-setup.conf.example").c_str()) < 0 ||
      out.rules->load(("Include " + crs + "/rules/*.conf\n").c_str()) < 0) {
    error = out.rules->getParserError();
    return false;
  }
  return true;
}

bool RunRampart(const BenchRequest& r, const waf::RuleSet& set, std::set<std::int64_t>* ids,
                PrefilterStats* stats, bool prefilter) {
  waf::Transaction tx(set);
  tx.UsePrefilter(prefilter);
  waf::RequestInfo info;
  info.method = r.method;
  info.target = r.target;
  info.protocol = "HTTP/1.1";
  std::string_view content_type;
  for (const auto& [k, v] : r.headers) {
    info.headers.emplace_back(k, v);
    if (strcasecmp(k.c_str(), "content-type") == 0) content_type = v;
  }
  info.client_addr = "192.0.2.10";
  info.client_port = 40000;
  info.server_addr = "192.0.2.1";
  info.server_port = 443;
  info.unique_id = "bench";
  tx.SetRequest(info);
  bool blocked = tx.RunPhase(1).intercepted;
  if (!blocked) {
    tx.SetRequestBody(r.body, true, content_type);
    blocked = tx.RunPhase(2).intercepted;
  }
  if (stats != nullptr) {
    const PrefilterStats& s = tx.prefilter_stats();
    stats->groups_asked += s.groups_asked;
    stats->groups_ruled_out += s.groups_ruled_out;
    stats->values_asked += s.values_asked;
    stats->values_ruled_out += s.values_ruled_out;
    stats->regex_runs += s.regex_runs;
    stats->parts_joined += s.parts_joined;
    stats->parts_as_target += s.parts_as_target;
  }
  if (ids != nullptr) {
    for (const auto& m : tx.matches()) {
      if (Compared(m.id)) ids->insert(m.id);
    }
  }
  return blocked;
}

bool RunModSecurity(const BenchRequest& r, ModSecurityEngine& e, std::set<std::int64_t>* ids) {
  modsecurity::Transaction tx(e.ms, e.rules, ids);
  tx.processConnection("192.0.2.10", 40000, "192.0.2.1", 443);
  tx.processURI(r.target.c_str(), r.method.c_str(), "1.1");
  for (const auto& [k, v] : r.headers) {
    tx.addRequestHeader(reinterpret_cast<const unsigned char*>(k.data()), k.size(),
                        reinterpret_cast<const unsigned char*>(v.data()), v.size());
  }
  tx.processRequestHeaders();
  modsecurity::ModSecurityIntervention it;
  modsecurity::intervention::clean(&it);
  bool blocked = tx.intervention(&it);
  modsecurity::intervention::free(&it);
  if (!blocked) {
    tx.appendRequestBody(reinterpret_cast<const unsigned char*>(r.body.data()), r.body.size());
    tx.processRequestBody();
    modsecurity::intervention::clean(&it);
    blocked = tx.intervention(&it);
    modsecurity::intervention::free(&it);
  }
  tx.processLogging();
  return blocked;
}

}  // namespace rampart::bench
