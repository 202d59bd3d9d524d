// A compiled SecLang rule: its targets, operator, transformations and actions. Built once per
// config snapshot by rule_parser.cc and ruleset.cc; read-only afterwards, shared by all workers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gates/waf/literal_prefilter.h"
#include "gates/waf/macro.h"
#include "gates/waf/operator.h"
#include "gates/waf/transform.h"

namespace rampart::waf {

class NameRegex;  // a compiled /regex/ selector (variables.h)

// Every variable the engine serves. Collections have keys (ARGS:name); the rest are scalars.
enum class Var : std::uint8_t {
  // collections
  kArgs,
  kArgsGet,
  kArgsPost,
  kArgsNames,
  kArgsGetNames,
  kArgsPostNames,
  kRequestHeaders,
  kRequestHeadersNames,
  kRequestCookies,
  kRequestCookiesNames,
  kResponseHeaders,
  kResponseHeadersNames,
  kFiles,
  kFilesNames,
  kFilesSizes,
  kMultipartPartHeaders,
  kTx,
  kMatchedVars,
  kMatchedVarsNames,
  kXml,
  kRule,
  kEnv,
  // scalars
  kArgsCombinedSize,
  kFilesCombinedSize,
  kRequestMethod,
  kRequestUri,
  kRequestUriRaw,
  kRequestFilename,
  kRequestBasename,
  kRequestLine,
  kRequestProtocol,
  kQueryString,
  kRequestBody,
  kRequestBodyLength,
  kRemoteAddr,
  kRemotePort,
  kServerAddr,
  kServerPort,
  kServerName,
  kUniqueId,
  kReqbodyError,
  kReqbodyErrorMsg,
  kReqbodyProcessor,
  kReqbodyProcessorError,
  kResponseStatus,
  kResponseBody,
  kResponseProtocol,
  kResponseContentLength,
  kResponseContentType,
  kMatchedVar,
  kMatchedVarName,
  kMultipartFlag,  // one of the MULTIPART_* flags (VarSpec::key holds its name)
  kMultipartFilename,
  kMultipartName,
  kFullRequestLength,
  kDuration,
  kHighestSeverity,
  kUrlencodedError,
  kInboundDataError,
  kOutboundDataError,
  kStatusLine,
  kAuthType,
  kPathInfo,
  kTime,
  kTimeEpoch,
};

bool IsCollection(Var v) noexcept;

struct VarSpec {
  // What every walk of a rule's targets reads first, together at the front.
  Var var = Var::kArgs;
  bool count = false;                          // &VAR: the number of values
  bool exclude = false;                        // !VAR:key: removes values from this rule's targets
  std::shared_ptr<const NameRegex> key_regex;  // a /regex/ selector
  std::string name;                            // as the rule named it, upper case ("ARGS")
  std::string key;                             // the selector, lower case; empty: all
};

enum class Disruptive : std::uint8_t { kNone, kPass, kBlock, kDeny, kDrop, kAllow };
enum class AllowScope : std::uint8_t { kAll, kPhase, kRequest };

struct SetVar {
  enum class Op : std::uint8_t { kSet, kSetOne, kAdd, kSub, kDelete } op = Op::kSet;
  std::string collection;  // upper case: "TX", "IP", ...
  Macro name;
  Macro value;
};

// A setvar on TX as a walk runs it (ruleset.cc compiles them): its literal name and value in the
// rule set's setvar text, side by side with the other rules', and the keyed hashes of the TX
// names it reads and writes taken at load; the SetVar itself for what holds macros.
struct TxSetVar {
  SetVar::Op op = SetVar::Op::kSet;
  bool name_literal = false;   // else expand source->name
  bool value_literal = false;  // the value is text (value_at, value_size)
  bool value_tx = false;       // the value is exactly %{tx.KEY}, KEY at (value_at, value_size)
  std::uint32_t name_at = 0, name_size = 0, value_at = 0, value_size = 0;
  std::uint64_t name_hash = 0, value_hash = 0;
  const SetVar* source = nullptr;
};

struct Ctl {
  enum class Kind : std::uint8_t {
    kRuleEngine,
    kRuleRemoveById,
    kRuleRemoveByTag,
    kRuleRemoveTargetById,
    kRuleRemoveTargetByTag,
    kRequestBodyProcessor,
    kForceRequestBodyVariable,
    kAuditEngine,
    kRequestBodyAccess,
    kResponseBodyAccess,
  } kind = Kind::kRuleEngine;
  std::string value;                    // engine mode, processor, tag, "On"/"Off"
  std::int64_t id_from = 0, id_to = 0;  // rule ids (a range)
  std::string target;                   // ruleRemoveTarget*: "ARGS:foo" as written after ';'
};

// Actions as written on a rule (ruleset.cc merges SecDefaultAction into them).
struct Actions {
  // What a matching rule's walk reads (AfterFullMatch) first, together.
  std::int64_t id = 0;
  int phase = 0;  // 0: not given
  int status = 0;
  int severity = -1;  // 0 EMERGENCY .. 7 DEBUG
  int skip = 0;
  std::optional<Disruptive> disruptive;
  AllowScope allow_scope = AllowScope::kAll;
  std::optional<bool> log, auditlog;
  bool capture = false, multi_match = false, chain = false;
  bool t_none = false;
  std::vector<Ctl> ctls;
  std::optional<Macro> msg, logdata;
  std::vector<TransformId> transforms;  // those after the last t:none
  std::vector<std::string> tags;
  std::string ver, rev, maturity, accuracy;
  std::vector<SetVar> setvars;
  std::string skip_after;
};

struct alignas(64) Rule {
  // Each rule starts a cache line (alignas: LoadedRules::storage holds them side by side), and
  // the fields every request's walk reads come first: the first line holds what RunPhase and
  // EvaluateRule read of every rule, the second the group's parts and the prefilter's first
  // bits and where its runs are (literal_prefilter.h), so that a rule the prefilter rules out
  // costs a line or two; what only a running or logging rule reads follows. Aligning the rules
  // took a cold request's data lines down by 6% (docs/benchmarks.md).
  bool is_marker = false;
  bool is_action = false;  // SecAction: matches unconditionally
  bool negated = false;
  bool op_has_macros = false;
  bool regex_op = false;  // @rx, @rxGlobal, @verifyCC: may stop at the PCRE2 match limit
  bool excludes = false;  // a target is an exclusion (!VAR:key): the walk checks values against it
  // act.capture and act.multi_match, copied here by ruleset.cc: a walk reads them for every rule
  // it evaluates, and act is several cache lines further on.
  bool capture = false;
  bool multi_match = false;
  // A prefilter that tests each value (LiteralPrefilter::per_value), copied here by ruleset.cc:
  // MayMatch asks it of every value a rule tests.
  bool value_prefilter = false;
  // Filled by ruleset.cc: the effective settings after SecDefaultAction.
  Disruptive effective_disruptive = Disruptive::kPass;
  bool effective_log = true;
  // Prefiltered rules reading the same values after the same transformations share a group,
  // whose values' signatures are joined once per phase (-1: none).
  int prefilter_group = -1;
  // Rules with the same effective transformations share an id, so a value's transformed form
  // is computed once per request for all of them (-1: no transformation).
  int chain_id = -1;
  // The chain without its closing case changes (lowercase, uppercase): what the prefilter's
  // case-folded signatures are taken of.
  int signature_chain = -1;
  std::vector<VarSpec> vars;  // empty for SecAction and SecMarker
  std::unique_ptr<Operator> op;
  std::unique_ptr<Rule> chained;  // the next rule of a chain
  // Its union's parts: (index in vars, part id), one per target read under its chain.
  std::vector<std::pair<int, int>> prefilter_parts;
  // @rx without macros, @pm and @pmFromFile: literals one of which every match holds
  // (literal_prefilter.h).
  std::optional<LiteralPrefilter> prefilter;
  // Its setvars on TX: RuleSet::tx_setvars()[tx_setvars_at ..][.. tx_setvars_count].
  std::uint32_t tx_setvars_at = 0, tx_setvars_count = 0;
  int effective_status = 0;  // the rule's status:, else SecDefaultAction's (0: 403)
  // SecMarker names as numbers: the marker's own (is_marker), the one skipAfter goes to.
  int marker_id = -1;
  int skip_after_id = -1;
  Actions act;
  std::string file;  // base name of its file, for logs and metrics
  int line = 0;
  std::string op_name;  // "rx", "pm", ... (empty: SecAction)
  std::string op_param;
  Macro op_macro;      // the parameter, when it holds macros
  std::string marker;  // SecMarker's name
  std::vector<TransformId> effective_transforms;
  std::vector<int> tag_ids;  // act.tags as RuleSet::TagId numbers, for ctl's removals by tag

  // The chain the prefilter signs this rule's values under: a multiMatch rule's whole chain (its
  // union holds every step), another's without its closing case changes.
  int PrefilterChain() const noexcept { return multi_match ? chain_id : signature_chain; }
};

}  // namespace rampart::waf
