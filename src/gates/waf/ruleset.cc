#include "gates/waf/ruleset.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_map>

#include "gates/waf/detect_operators.h"
#include "gates/waf/rule_parser.h"
#include "gates/waf/tx_table.h"

namespace rampart::waf {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string BaseName(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string DirOf(const std::string& file) {
  const auto slash = file.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : file.substr(0, slash);
}

bool ParseSize(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool OnOff(const Directive& d, bool& out, std::string& error) {
  const std::string v = d.args.empty() ? std::string() : Lower(d.args[0]);
  if (d.args.size() != 1 || (v != "on" && v != "off")) {
    error = d.Where() + ": " + d.name + " takes On or Off";
    return false;
  }
  out = v == "on";
  return true;
}

struct IdRange {
  std::int64_t from, to;
  bool Contains(std::int64_t id) const { return id >= from && id <= to; }
};

bool ParseIdList(const Directive& d, std::vector<IdRange>& out, std::string& error) {
  for (const auto& arg : d.args) {
    std::string_view rest = arg;
    while (!rest.empty()) {
      const auto sp = rest.find_first_of(" ,");
      std::string_view one = rest.substr(0, sp);
      rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
      if (one.empty()) continue;
      IdRange r{};
      const auto dash = one.find('-', 1);
      std::uint64_t a = 0, b = 0;
      bool ok = dash == std::string_view::npos
                    ? ParseSize(one, a) && ((b = a), true)
                    : ParseSize(one.substr(0, dash), a) && ParseSize(one.substr(dash + 1), b);
      if (!ok || a > b) {
        error =
            d.Where() + ": " + d.name + ": '" + std::string(one) + "' is not a rule id or range";
        return false;
      }
      r.from = static_cast<std::int64_t>(a);
      r.to = static_cast<std::int64_t>(b);
      out.push_back(r);
    }
  }
  return true;
}

// Applies SecRuleUpdateActionById's actions over a rule's own.
void MergeActions(Actions& into, const Actions& from) {
  if (from.t_none) into.transforms.clear(), into.t_none = true;
  into.transforms.insert(into.transforms.end(), from.transforms.begin(), from.transforms.end());
  if (from.disruptive) into.disruptive = from.disruptive, into.allow_scope = from.allow_scope;
  if (from.status) into.status = from.status;
  if (from.log) into.log = from.log;
  if (from.auditlog) into.auditlog = from.auditlog;
  if (from.msg) into.msg = from.msg;
  if (from.logdata) into.logdata = from.logdata;
  if (from.severity >= 0) into.severity = from.severity;
  if (from.capture) into.capture = true;
  if (from.multi_match) into.multi_match = true;
  into.tags.insert(into.tags.end(), from.tags.begin(), from.tags.end());
  into.setvars.insert(into.setvars.end(), from.setvars.begin(), from.setvars.end());
  into.ctls.insert(into.ctls.end(), from.ctls.begin(), from.ctls.end());
  if (from.skip) into.skip = from.skip;
  if (!from.skip_after.empty()) into.skip_after = from.skip_after;
}

struct TargetUpdate {
  std::vector<IdRange> ids;  // empty: by tag or msg
  std::string tag, msg;
  std::vector<VarSpec> targets;
  bool replace = false;
  std::string replaced;  // with `replace`: the target (by name) that the new ones replace
};

bool Matches(const TargetUpdate& u, const Rule& r) {
  if (!u.ids.empty()) {
    return std::any_of(u.ids.begin(), u.ids.end(),
                       [&](const IdRange& x) { return x.Contains(r.act.id); });
  }
  if (!u.tag.empty()) {
    return std::find(r.act.tags.begin(), r.act.tags.end(), u.tag) != r.act.tags.end();
  }
  return r.act.msg && !r.act.msg->HasRefs() && r.act.msg->Literal() == u.msg;
}

class Builder {
 public:
  bool Add(const Directive& d, std::string& error);
  bool Finish(LoadedRules& out, std::string& error);

 private:
  bool AddRule(const Directive& d, bool is_action, std::string& error);
  bool CompileOperator(Rule& r, const std::string& file, std::string& error);

  std::vector<std::unique_ptr<Rule>> rules_;  // top-level rules and markers, in order
  Rule* open_chain_ = nullptr;                // the last link of a chain still expecting one
  std::string open_chain_where_;
  std::array<Actions, 6> defaults_;
  std::array<bool, 6> has_default_{};
  std::vector<IdRange> removed_ids_;
  std::vector<std::string> removed_tags_, removed_msgs_;
  std::vector<TargetUpdate> target_updates_;
  std::vector<std::pair<std::vector<IdRange>, Actions>> action_updates_;
  EngineSettings settings_;
  std::set<std::int64_t> ids_;
  std::vector<std::string> files_;
};

bool Builder::CompileOperator(Rule& r, const std::string& file, std::string& error) {
  OperatorEnv env;
  env.rules_dir = DirOf(file);
  const std::string lname = Lower(r.op_name);
  if (lname == "detectsqli" || lname == "detectxss") {
    r.op = MakeDetectOperator(lname);
    return true;
  }
  r.regex_op = lname == "rx" || lname == "rxglobal" || lname == "verifycc";
  if (lname == "rx" && !r.op_has_macros) r.prefilter = LiteralPrefilter::For(r.op_param);
  r.op = MakeOperator(r.op_name, r.op_param, env, &error);
  if (r.op == nullptr) return false;
  if (const auto* phrases = r.op->Phrases()) r.prefilter = LiteralPrefilter::ForPhrases(*phrases);
  return true;
}

bool Builder::AddRule(const Directive& d, bool is_action, std::string& error) {
  auto rule = std::make_unique<Rule>();
  rule->file = BaseName(d.file);
  rule->line = d.line;
  const std::size_t want = is_action ? 1 : 3;
  if (d.args.size() < want - (is_action ? 0 : 1) || d.args.size() > want) {
    error = d.Where() + ": " + d.name + " takes " +
            (is_action ? "one argument (actions)" : "targets, an operator and actions");
    return false;
  }
  std::string why;
  if (is_action) {
    rule->is_action = true;
    rule->op_name = "unconditionalMatch";
    if (!ParseActions(d.args[0], rule->act, why)) {
      error = d.Where() + ": " + why;
      return false;
    }
  } else {
    if (!ParseVariables(d.args[0], rule->vars, why) || !ParseOperator(d.args[1], *rule, why) ||
        (d.args.size() == 3 && !ParseActions(d.args[2], rule->act, why))) {
      error = d.Where() + ": " + why;
      return false;
    }
  }
  if (!CompileOperator(*rule, d.file, why)) {
    error = d.Where() + ": " + why;
    return false;
  }
  const bool chains_on = rule->act.chain;
  if (open_chain_ != nullptr) {
    // A link of a chain: it runs in its parent's phase, and its id (if any) is not a rule's.
    rule->act.phase = 0;
    Rule* link = rule.get();
    open_chain_->chained = std::move(rule);
    open_chain_ = chains_on ? link : nullptr;
    return true;
  }
  if (rule->act.id == 0) {
    error = d.Where() + ": a rule needs an id (id:N)";
    return false;
  }
  if (!ids_.insert(rule->act.id).second) {
    error = d.Where() + ": rule id " + std::to_string(rule->act.id) + " is used twice";
    return false;
  }
  if (rule->act.phase == 0) rule->act.phase = 2;
  if (std::find(files_.begin(), files_.end(), rule->file) == files_.end()) {
    files_.push_back(rule->file);
  }
  Rule* raw = rule.get();
  rules_.push_back(std::move(rule));
  if (chains_on) {
    open_chain_ = raw;
    open_chain_where_ = d.Where();
  }
  return true;
}

bool Builder::Add(const Directive& d, std::string& error) {
  const std::string name = Lower(d.name);
  auto one_arg = [&]() {
    if (d.args.size() == 1) return true;
    error = d.Where() + ": " + d.name + " takes one argument";
    return false;
  };
  auto size_arg = [&](std::uint64_t& out) {
    if (!one_arg()) return false;
    if (ParseSize(d.args[0], out)) return true;
    error = d.Where() + ": " + d.name + " takes a size in bytes";
    return false;
  };
  if (name != "secrule" && open_chain_ != nullptr) {
    error = open_chain_where_ + ": the chain is not followed by a SecRule";
    return false;
  }
  if (name == "secrule") return AddRule(d, false, error);
  if (name == "secaction") return AddRule(d, true, error);
  if (name == "secmarker") {
    if (!one_arg()) return false;
    auto m = std::make_unique<Rule>();
    m->is_marker = true;
    m->marker = d.args[0];
    m->file = BaseName(d.file);
    m->line = d.line;
    rules_.push_back(std::move(m));
    return true;
  }
  if (name == "secdefaultaction") {
    if (!one_arg()) return false;
    Actions a;
    std::string why;
    if (!ParseActions(d.args[0], a, why)) {
      error = d.Where() + ": " + why;
      return false;
    }
    if (a.phase == 0) {
      error = d.Where() + ": SecDefaultAction must name a phase";
      return false;
    }
    if (!a.disruptive) {
      error = d.Where() + ": SecDefaultAction must name a disruptive action (pass, deny, ...)";
      return false;
    }
    const auto p = static_cast<std::size_t>(a.phase);
    defaults_[p] = std::move(a);
    has_default_[p] = true;
    return true;
  }
  if (name == "secruleengine") {
    if (!one_arg()) return false;
    const std::string v = Lower(d.args[0]);
    if (v == "on") {
      settings_.mode = EngineMode::kOn;
    } else if (v == "off") {
      settings_.mode = EngineMode::kOff;
    } else if (v == "detectiononly") {
      settings_.mode = EngineMode::kDetectionOnly;
    } else {
      error = d.Where() + ": SecRuleEngine takes On, Off or DetectionOnly";
      return false;
    }
    return true;
  }
  if (name == "secrequestbodyaccess") return OnOff(d, settings_.request_body_access, error);
  if (name == "secresponsebodyaccess") return OnOff(d, settings_.response_body_access, error);
  if (name == "secrequestbodylimit") return size_arg(settings_.request_body_limit);
  if (name == "secrequestbodynofileslimit") return size_arg(settings_.request_body_no_files_limit);
  if (name == "secresponsebodylimit") return size_arg(settings_.response_body_limit);
  if (name == "secrequestbodylimitaction" || name == "secresponsebodylimitaction") {
    if (!one_arg()) return false;
    const std::string v = Lower(d.args[0]);
    if (v != "reject" && v != "processpartial") {
      error = d.Where() + ": " + d.name + " takes Reject or ProcessPartial";
      return false;
    }
    // A response body streams to the client as it is inspected, so over its limit only its
    // first SecResponseBodyLimit bytes are inspected, whichever action is named.
    if (name == "secrequestbodylimitaction") settings_.request_body_reject = v == "reject";
    return true;
  }
  if (name == "secresponsebodymimetype") {
    settings_.response_mime_types.clear();
    for (const auto& a : d.args) {
      std::string_view rest = a;
      while (!rest.empty()) {
        const auto sp = rest.find(' ');
        if (sp != 0) settings_.response_mime_types.push_back(Lower(rest.substr(0, sp)));
        if (sp == std::string_view::npos) break;
        rest.remove_prefix(sp + 1);
      }
    }
    return true;
  }
  if (name == "secargumentseparator") {
    if (!one_arg() || d.args[0].size() != 1) {
      error = d.Where() + ": SecArgumentSeparator takes one character";
      return false;
    }
    settings_.argument_separator = d.args[0][0];
    return true;
  }
  if (name == "secrequestbodyjsondepthlimit" || name == "secargumentslimit") {
    std::uint64_t n = 0;
    if (!size_arg(n)) return false;
    (name == "secargumentslimit" ? settings_.argument_limit : settings_.json_depth_limit) =
        static_cast<int>(std::min<std::uint64_t>(n, 1u << 20));
    return true;
  }
  if (name == "seccomponentsignature") {
    if (!one_arg()) return false;
    settings_.component_signature = d.args[0];
    return true;
  }
  if (name == "secwebappid") {
    if (!one_arg()) return false;
    settings_.web_app_id = d.args[0];
    return true;
  }
  if (name == "seccollectiontimeout") {
    std::uint64_t n = 0;
    return size_arg(n);  // persistent collections are not kept: the timeout has nothing to time
  }
  if (name == "secruleremovebyid") return ParseIdList(d, removed_ids_, error);
  if (name == "secruleremovebytag" || name == "secruleremovebymsg") {
    if (d.args.empty()) {
      error = d.Where() + ": " + d.name + " needs an argument";
      return false;
    }
    auto& list = name == "secruleremovebytag" ? removed_tags_ : removed_msgs_;
    list.insert(list.end(), d.args.begin(), d.args.end());
    return true;
  }
  if (name == "secruleupdatetargetbyid" || name == "secruleupdatetargetbytag" ||
      name == "secruleupdatetargetbymsg") {
    if (d.args.size() < 2 || d.args.size() > 3) {
      error =
          d.Where() + ": " + d.name + " takes a rule, targets and optionally a target to replace";
      return false;
    }
    TargetUpdate u;
    if (name == "secruleupdatetargetbyid") {
      Directive ids = d;
      ids.args.resize(1);
      if (!ParseIdList(ids, u.ids, error)) return false;
    } else if (name == "secruleupdatetargetbytag") {
      u.tag = d.args[0];
    } else {
      u.msg = d.args[0];
    }
    std::string why;
    if (!ParseVariables(d.args[1], u.targets, why)) {
      error = d.Where() + ": " + why;
      return false;
    }
    if (d.args.size() == 3) {
      u.replace = true;
      std::vector<VarSpec> old;
      if (!ParseVariables(d.args[2], old, why)) {
        error = d.Where() + ": " + why;
        return false;
      }
      u.replaced = old.front().name + ":" + old.front().key;
    }
    target_updates_.push_back(std::move(u));
    return true;
  }
  if (name == "secruleupdateactionbyid") {
    if (d.args.size() != 2) {
      error = d.Where() + ": SecRuleUpdateActionById takes a rule id and actions";
      return false;
    }
    std::vector<IdRange> ids;
    Directive first = d;
    first.args.resize(1);
    if (!ParseIdList(first, ids, error)) return false;
    Actions a;
    std::string why;
    if (!ParseActions(d.args[1], a, why)) {
      error = d.Where() + ": " + why;
      return false;
    }
    if (a.id != 0 || a.phase != 0 || a.chain) {
      error = d.Where() + ": SecRuleUpdateActionById may not change id, phase or chain";
      return false;
    }
    action_updates_.emplace_back(std::move(ids), std::move(a));
    return true;
  }
  error = d.Where() + ": unknown directive " + d.name;
  return false;
}

using ChainIds = std::map<std::vector<TransformId>, int>;

// Rules whose targets (exclusions aside) and transformations are the same read the same values:
// the union of those values' signatures can rule a prefiltered rule out without walking them.
struct Interned {
  ChainIds chains;
  std::vector<ChainStep> steps;  // by chain id
  std::map<std::string, int> groups;
  std::map<std::string, int> parts;
  // Per target (a part without its chain): its id, and by part id, the part's target.
  std::map<std::string, int> targets;
  std::vector<int> part_targets;
  std::vector<std::uint64_t> target_transforms;  // by target: every chain its parts read it under
  std::map<std::string, int> markers;
  std::map<std::string, int, std::less<>> tags;
  std::vector<TxSetVar> tx_setvars;
  std::string setvar_text;
  int Marker(const std::string& name) {
    return markers.emplace(name, static_cast<int>(markers.size())).first->second;
  }
};

void AssignGroup(Rule& r, Interned& ids) {
  // A rule whose match is a non-match of its operator (!@rx) must still see every value.
  if (!r.prefilter || r.negated) return;
  // multiMatch tests the value and every step that changed it: its union is of all of them.
  const std::string chain =
      r.multi_match ? "m" + std::to_string(r.chain_id) : std::to_string(r.signature_chain);
  std::string key = chain;
  std::vector<std::pair<int, int>> own;
  for (std::size_t i = 0; i < r.vars.size(); ++i) {
    const VarSpec& v = r.vars[i];
    if (v.exclude) continue;  // the group's union reads a superset of the rule's values
    if (v.count || v.var == Var::kRule) return;  // RULE: is the rule's own, not shared
    std::string part = std::to_string(static_cast<int>(v.var)) + ":" + v.key;
    if (v.key_regex) {
      part.append("/").append(std::to_string(reinterpret_cast<std::uintptr_t>(v.key_regex.get())));
    }
    key.append("|").append(part);
    // One target under one chain is a part: groups that share it join it once.
    const auto [at, added] =
        ids.parts.emplace(chain + "|" + part, static_cast<int>(ids.parts.size()));
    if (added) {
      const int target =
          ids.targets.emplace(part, static_cast<int>(ids.targets.size())).first->second;
      ids.part_targets.push_back(target);
      ids.target_transforms.resize(ids.targets.size());
      const int c = r.PrefilterChain();
      if (c >= 0) {
        ids.target_transforms[static_cast<std::size_t>(target)] |=
            ids.steps[static_cast<std::size_t>(c)].transforms;
      }
    }
    own.emplace_back(static_cast<int>(i), at->second);
  }
  r.prefilter_group = ids.groups.emplace(key, static_cast<int>(ids.groups.size())).first->second;
  r.prefilter_parts = std::move(own);
}

// The rule's setvars on TX as the walk runs them (TxSetVar): the others are not kept.
void CompileSetVars(Rule& r, Interned& ids) {
  r.tx_setvars_at = static_cast<std::uint32_t>(ids.tx_setvars.size());
  auto text = [&](std::string_view t, std::uint32_t& at, std::uint32_t& size) {
    at = static_cast<std::uint32_t>(ids.setvar_text.size());
    size = static_cast<std::uint32_t>(t.size());
    ids.setvar_text.append(t);
  };
  for (const SetVar& sv : r.act.setvars) {
    if (sv.collection != "TX") continue;
    TxSetVar c;
    c.op = sv.op;
    c.source = &sv;
    if (!sv.name.HasRefs()) {
      c.name_literal = true;
      text(sv.name.Literal(), c.name_at, c.name_size);
      c.name_hash = TxTable::Hash(sv.name.Literal());
    }
    if (!sv.value.HasRefs()) {
      c.value_literal = true;
      text(sv.value.Literal(), c.value_at, c.value_size);
    } else if (sv.value.parts.size() == 1 && sv.value.parts[0].is_ref &&
               sv.value.parts[0].text == "TX") {
      c.value_tx = true;
      text(sv.value.parts[0].key, c.value_at, c.value_size);
      c.value_hash = TxTable::Hash(sv.value.parts[0].key);
    }
    ids.tx_setvars.push_back(c);
  }
  r.tx_setvars_count = static_cast<std::uint32_t>(ids.tx_setvars.size()) - r.tx_setvars_at;
}

void Finalize(Rule& r, int phase, const Actions& def, bool has_default, Interned& ids) {
  // Transformations: SecDefaultAction's first, unless the rule says t:none (ModSecurity v3).
  if (!r.act.t_none && has_default) {
    r.effective_transforms = def.transforms;
  }
  r.effective_transforms.insert(r.effective_transforms.end(), r.act.transforms.begin(),
                                r.act.transforms.end());
  const Disruptive default_disruptive =
      has_default && def.disruptive ? *def.disruptive : Disruptive::kPass;
  Disruptive d = r.act.disruptive.value_or(Disruptive::kNone);
  if (d == Disruptive::kBlock || d == Disruptive::kNone) {
    d = d == Disruptive::kBlock ? default_disruptive : Disruptive::kNone;
    if (d == Disruptive::kBlock) d = Disruptive::kDeny;
  }
  r.effective_disruptive = d;
  if (r.act.status == 0 && has_default) r.effective_status = def.status;
  r.effective_log = r.act.log.value_or(has_default && def.log ? *def.log : true);
  // Every prefix of the chain gets an id too, its parent the prefix one shorter: a value's
  // transformed forms are computed once per prefix and request, shared by the chains that
  // extend it ("urlDecodeUni" by "urlDecodeUni,lowercase") and by multiMatch's steps.
  std::vector<TransformId> prefix;
  for (TransformId t : r.effective_transforms) {
    const int parent = r.chain_id;
    prefix.push_back(t);
    auto [it, added] = ids.chains.emplace(prefix, static_cast<int>(ids.steps.size()));
    if (added) {
      const std::uint64_t above =
          parent < 0 ? 0 : ids.steps[static_cast<std::size_t>(parent)].transforms;
      ids.steps.push_back(ChainStep{parent, t, above | std::uint64_t{1} << static_cast<int>(t)});
    }
    r.chain_id = it->second;
    if (!IsCaseChange(t)) r.signature_chain = it->second;
  }
  r.excludes =
      std::any_of(r.vars.begin(), r.vars.end(), [](const VarSpec& v) { return v.exclude; });
  r.capture = r.act.capture;
  r.multi_match = r.act.multi_match;
  r.value_prefilter = r.prefilter && r.prefilter->per_value();
  AssignGroup(r, ids);
  CompileSetVars(r, ids);
  for (const auto& tag : r.act.tags) {
    r.tag_ids.push_back(ids.tags.emplace(tag, static_cast<int>(ids.tags.size())).first->second);
  }
  if (!r.act.skip_after.empty()) r.skip_after_id = ids.Marker(r.act.skip_after);
  if (r.chained) Finalize(*r.chained, phase, def, has_default, ids);
}

bool Builder::Finish(LoadedRules& out, std::string& error) {
  std::array<std::vector<std::unique_ptr<Rule>>, 6> phases;  // as built; then moved to out.storage
  if (open_chain_ != nullptr) {
    error = open_chain_where_ + ": the chain is not followed by a SecRule";
    return false;
  }
  auto removed = [&](const Rule& r) {
    for (const auto& x : removed_ids_) {
      if (x.Contains(r.act.id)) return true;
    }
    for (const auto& t : removed_tags_) {
      if (std::find(r.act.tags.begin(), r.act.tags.end(), t) != r.act.tags.end()) return true;
    }
    for (const auto& m : removed_msgs_) {
      if (r.act.msg && !r.act.msg->HasRefs() && r.act.msg->Literal() == m) return true;
    }
    return false;
  };
  Interned ids;
  for (auto& r : rules_) {
    if (r->is_marker) {
      // A marker exists in every phase: skipAfter looks for it in the phase it runs in.
      for (int p = 1; p <= 5; ++p) {
        auto m = std::make_unique<Rule>();
        m->is_marker = true;
        m->marker = r->marker;
        m->marker_id = ids.Marker(r->marker);
        m->file = r->file;
        m->line = r->line;
        phases[static_cast<std::size_t>(p)].push_back(std::move(m));
      }
      continue;
    }
    if (removed(*r)) continue;
    for (const auto& u : target_updates_) {
      if (!Matches(u, *r)) continue;
      if (u.replace) {
        auto it = std::find_if(r->vars.begin(), r->vars.end(), [&](const VarSpec& v) {
          return v.name + ":" + v.key == u.replaced;
        });
        if (it != r->vars.end()) r->vars.erase(it);
      }
      r->vars.insert(r->vars.end(), u.targets.begin(), u.targets.end());
    }
    for (const auto& [ids, a] : action_updates_) {
      if (std::any_of(ids.begin(), ids.end(),
                      [&](const IdRange& x) { return x.Contains(r->act.id); })) {
        MergeActions(r->act, a);
      }
    }
    const auto p = static_cast<std::size_t>(r->act.phase);
    Finalize(*r, r->act.phase, defaults_[p], has_default_[p], ids);
    phases[p].push_back(std::move(r));
    ++out.rule_count;
  }
  std::size_t total = 0;
  for (const auto& rules : phases) total += rules.size();
  out.storage.reserve(total);  // no reallocation below: the pointers stay valid
  for (std::size_t p = 1; p < phases.size(); ++p) {
    for (auto& r : phases[p]) {
      out.storage.push_back(std::move(*r));
      out.phases[p].push_back(&out.storage.back());
    }
  }
  for (std::size_t p = 1; p < out.phases.size(); ++p) {
    for (std::size_t i = 0; i < out.phases[p].size(); ++i) {
      const int id = out.phases[p][i]->marker_id;
      if (id < 0) continue;
      auto& at = out.markers[p];
      if (at.size() <= static_cast<std::size_t>(id)) at.resize(static_cast<std::size_t>(id) + 1);
      at[static_cast<std::size_t>(id)].push_back(i);
    }
  }
  out.settings = settings_;
  out.files = files_;
  out.transform_chains = std::move(ids.steps);
  out.prefilter_groups = ids.groups.size();
  out.prefilter_parts = ids.parts.size();
  out.part_targets = std::move(ids.part_targets);
  out.target_transforms = std::move(ids.target_transforms);
  out.tags = std::move(ids.tags);
  out.tx_setvars = std::move(ids.tx_setvars);
  out.setvar_text = std::move(ids.setvar_text);
  return true;
}

}  // namespace

std::shared_ptr<const RuleSet> RuleSet::Build(const std::vector<Directive>& directives,
                                              std::string& error) {
  Builder b;
  for (const auto& d : directives) {
    if (!b.Add(d, error)) return nullptr;
  }
  auto set = std::shared_ptr<RuleSet>(new RuleSet());
  if (!b.Finish(set->d_, error)) return nullptr;
  return set;
}

std::size_t RuleSet::NextMarker(int phase, int marker, std::size_t from) const noexcept {
  const auto p = static_cast<std::size_t>(phase);
  const auto m = static_cast<std::size_t>(marker);
  const std::size_t end = d_.phases[p].size();
  if (marker < 0 || m >= d_.markers[p].size()) return end;
  const auto& at = d_.markers[p][m];
  const auto it = std::lower_bound(at.begin(), at.end(), from);
  return it == at.end() ? end : *it;
}

}  // namespace rampart::waf
