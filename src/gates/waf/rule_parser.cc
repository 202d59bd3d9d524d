#include "gates/waf/rule_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

#include "gates/waf/name_regex.h"

namespace rampart::waf {

namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct VarName {
  std::string_view name;
  Var var;
};

constexpr VarName kVars[] = {
    {"ARGS", Var::kArgs},
    {"ARGS_GET", Var::kArgsGet},
    {"ARGS_POST", Var::kArgsPost},
    {"ARGS_NAMES", Var::kArgsNames},
    {"ARGS_GET_NAMES", Var::kArgsGetNames},
    {"ARGS_POST_NAMES", Var::kArgsPostNames},
    {"REQUEST_HEADERS", Var::kRequestHeaders},
    {"REQUEST_HEADERS_NAMES", Var::kRequestHeadersNames},
    {"REQUEST_COOKIES", Var::kRequestCookies},
    {"REQUEST_COOKIES_NAMES", Var::kRequestCookiesNames},
    {"RESPONSE_HEADERS", Var::kResponseHeaders},
    {"RESPONSE_HEADERS_NAMES", Var::kResponseHeadersNames},
    {"FILES", Var::kFiles},
    {"FILES_NAMES", Var::kFilesNames},
    {"FILES_SIZES", Var::kFilesSizes},
    {"MULTIPART_PART_HEADERS", Var::kMultipartPartHeaders},
    {"TX", Var::kTx},
    {"MATCHED_VARS", Var::kMatchedVars},
    {"MATCHED_VARS_NAMES", Var::kMatchedVarsNames},
    {"XML", Var::kXml},
    {"RULE", Var::kRule},
    {"ENV", Var::kEnv},
    {"ARGS_COMBINED_SIZE", Var::kArgsCombinedSize},
    {"FILES_COMBINED_SIZE", Var::kFilesCombinedSize},
    {"REQUEST_METHOD", Var::kRequestMethod},
    {"REQUEST_URI", Var::kRequestUri},
    {"REQUEST_URI_RAW", Var::kRequestUriRaw},
    {"REQUEST_FILENAME", Var::kRequestFilename},
    {"REQUEST_BASENAME", Var::kRequestBasename},
    {"REQUEST_LINE", Var::kRequestLine},
    {"REQUEST_PROTOCOL", Var::kRequestProtocol},
    {"QUERY_STRING", Var::kQueryString},
    {"REQUEST_BODY", Var::kRequestBody},
    {"REQUEST_BODY_LENGTH", Var::kRequestBodyLength},
    {"REMOTE_ADDR", Var::kRemoteAddr},
    {"REMOTE_PORT", Var::kRemotePort},
    {"SERVER_ADDR", Var::kServerAddr},
    {"SERVER_PORT", Var::kServerPort},
    {"SERVER_NAME", Var::kServerName},
    {"UNIQUE_ID", Var::kUniqueId},
    {"REQBODY_ERROR", Var::kReqbodyError},
    {"REQBODY_ERROR_MSG", Var::kReqbodyErrorMsg},
    {"REQBODY_PROCESSOR", Var::kReqbodyProcessor},
    {"REQBODY_PROCESSOR_ERROR", Var::kReqbodyProcessorError},
    {"RESPONSE_STATUS", Var::kResponseStatus},
    {"RESPONSE_BODY", Var::kResponseBody},
    {"RESPONSE_PROTOCOL", Var::kResponseProtocol},
    {"RESPONSE_CONTENT_LENGTH", Var::kResponseContentLength},
    {"RESPONSE_CONTENT_TYPE", Var::kResponseContentType},
    {"MATCHED_VAR", Var::kMatchedVar},
    {"MATCHED_VAR_NAME", Var::kMatchedVarName},
    {"MULTIPART_FILENAME", Var::kMultipartFilename},
    {"MULTIPART_NAME", Var::kMultipartName},
    {"FULL_REQUEST_LENGTH", Var::kFullRequestLength},
    {"DURATION", Var::kDuration},
    {"HIGHEST_SEVERITY", Var::kHighestSeverity},
    {"URLENCODED_ERROR", Var::kUrlencodedError},
    {"INBOUND_DATA_ERROR", Var::kInboundDataError},
    {"OUTBOUND_DATA_ERROR", Var::kOutboundDataError},
    {"STATUS_LINE", Var::kStatusLine},
    {"AUTH_TYPE", Var::kAuthType},
    {"PATH_INFO", Var::kPathInfo},
    {"TIME", Var::kTime},
    {"TIME_EPOCH", Var::kTimeEpoch},
};

bool LookupVar(std::string_view upper, Var& out) {
  for (const auto& v : kVars) {
    if (v.name == upper) {
      out = v.var;
      return true;
    }
  }
  // MULTIPART_STRICT_ERROR, MULTIPART_UNMATCHED_BOUNDARY, ...: the body processor's flags.
  if (upper.starts_with("MULTIPART_")) {
    out = Var::kMultipartFlag;
    return true;
  }
  return false;
}

// Reads one target from `text` at `i` (up to an unquoted, unbracketed '|').
bool ReadTarget(std::string_view text, std::size_t& i, VarSpec& spec, std::string& error) {
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size() && text[i] == '!') {
    spec.exclude = true;
    ++i;
  } else if (i < text.size() && text[i] == '&') {
    spec.count = true;
    ++i;
  }
  const std::size_t name_start = i;
  while (i < text.size() && text[i] != ':' && text[i] != '|' && text[i] != '.') ++i;
  spec.name = Upper(Trim(text.substr(name_start, i - name_start)));
  if (!LookupVar(spec.name, spec.var)) {
    error = "unknown variable " + spec.name;
    return false;
  }
  if (spec.var == Var::kMultipartFlag) spec.key = spec.name;
  if (i < text.size() && (text[i] == ':' || text[i] == '.')) {
    ++i;
    std::string selector;
    if (spec.var == Var::kXml) {
      // An XPath expression ("/*", "//@*") runs to the next '|'.
      const std::size_t start = i;
      while (i < text.size() && text[i] != '|') ++i;
      selector = std::string(Trim(text.substr(start, i - start)));
    } else if (i < text.size() && text[i] == '\'') {
      // A quoted selector: '/regex with | in it/' or 'name'.
      const auto close = text.find('\'', i + 1);
      if (close == std::string_view::npos) {
        error = "unclosed quote in the selector of " + spec.name;
        return false;
      }
      selector = std::string(text.substr(i + 1, close - i - 1));
      i = close + 1;
    } else if (i < text.size() && text[i] == '/') {
      // A regex selector runs to the next unescaped '/'.
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '/') j += text[j] == '\\' ? 2 : 1;
      if (j >= text.size()) {
        error = "unclosed /regex/ in the selector of " + spec.name;
        return false;
      }
      selector = std::string(text.substr(i, j + 1 - i));
      i = j + 1;
    } else {
      const std::size_t start = i;
      while (i < text.size() && text[i] != '|') ++i;
      selector = std::string(Trim(text.substr(start, i - start)));
    }
    if (spec.var == Var::kXml) {
      spec.key = selector;  // an XPath expression, kept as written
    } else if (selector.size() >= 2 && selector.front() == '/' && selector.back() == '/') {
      spec.key_regex = NameRegex::Compile(selector.substr(1, selector.size() - 2), error);
      if (!spec.key_regex) return false;
    } else {
      spec.key = Lower(selector);
    }
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size() && text[i] != '|') {
    error = "unexpected '" + std::string(1, text[i]) + "' after " + spec.name;
    return false;
  }
  return true;
}

bool ParseInt(std::string_view s, std::int64_t& out) {
  s = Trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int SeverityOf(std::string_view s) {
  static constexpr std::string_view kNames[] = {"EMERGENCY", "ALERT",  "CRITICAL", "ERROR",
                                                "WARNING",   "NOTICE", "INFO",     "DEBUG"};
  const std::string up = Upper(s);
  for (int i = 0; i < 8; ++i) {
    if (up == kNames[i]) return i;
  }
  std::int64_t n = 0;
  if (ParseInt(s, n) && n >= 0 && n <= 7) return static_cast<int>(n);
  return -1;
}

bool ParseIdRange(std::string_view s, std::int64_t& from, std::int64_t& to) {
  const auto dash = s.find('-', 1);
  if (dash == std::string_view::npos) {
    if (!ParseInt(s, from)) return false;
    to = from;
    return true;
  }
  return ParseInt(s.substr(0, dash), from) && ParseInt(s.substr(dash + 1), to) && from <= to;
}

bool ParseSetVar(std::string_view v, SetVar& sv, std::string& error) {
  v = Trim(v);
  if (!v.empty() && v.front() == '!') {
    sv.op = SetVar::Op::kDelete;
    v.remove_prefix(1);
  }
  const auto eq = v.find('=');
  std::string_view target = Trim(v.substr(0, eq));
  const auto dot = target.find('.');
  if (dot == std::string_view::npos) {
    error = "setvar: '" + std::string(target) + "' names no collection (tx.name)";
    return false;
  }
  sv.collection = Upper(target.substr(0, dot));
  if (sv.collection != "TX" && sv.collection != "IP" && sv.collection != "GLOBAL" &&
      sv.collection != "SESSION" && sv.collection != "USER" && sv.collection != "RESOURCE") {
    error = "setvar: unknown collection " + sv.collection;
    return false;
  }
  sv.name = ParseMacro(Lower(target.substr(dot + 1)));
  if (sv.op == SetVar::Op::kDelete) return true;
  if (eq == std::string_view::npos) {
    sv.op = SetVar::Op::kSetOne;
    return true;
  }
  std::string_view value = v.substr(eq + 1);
  if (!value.empty() && value.front() == '+') {
    sv.op = SetVar::Op::kAdd;
    value.remove_prefix(1);
  } else if (!value.empty() && value.front() == '-') {
    sv.op = SetVar::Op::kSub;
    value.remove_prefix(1);
  }
  sv.value = ParseMacro(value);
  return true;
}

bool ParseCtl(std::string_view v, Ctl& ctl, std::string& error) {
  const auto eq = v.find('=');
  if (eq == std::string_view::npos) {
    error = "ctl: '" + std::string(v) + "' has no value (ctl:name=value)";
    return false;
  }
  const std::string name = Lower(Trim(v.substr(0, eq)));
  std::string_view value = Trim(v.substr(eq + 1));
  using K = Ctl::Kind;
  auto split_target = [&](std::string_view& head) {
    const auto semi = value.find(';');
    if (semi == std::string_view::npos) return false;
    head = value.substr(0, semi);
    ctl.target = std::string(value.substr(semi + 1));
    return true;
  };
  if (name == "ruleengine") {
    ctl.kind = K::kRuleEngine;
    const std::string up = Upper(value);
    if (up != "ON" && up != "OFF" && up != "DETECTIONONLY") {
      error = "ctl:ruleEngine must be On, Off or DetectionOnly";
      return false;
    }
    ctl.value = up;
  } else if (name == "ruleremovebyid") {
    ctl.kind = K::kRuleRemoveById;
    if (!ParseIdRange(value, ctl.id_from, ctl.id_to)) {
      error = "ctl:ruleRemoveById wants a rule id or a range";
      return false;
    }
  } else if (name == "ruleremovebytag") {
    ctl.kind = K::kRuleRemoveByTag;
    ctl.value = std::string(value);
  } else if (name == "ruleremovetargetbyid") {
    ctl.kind = K::kRuleRemoveTargetById;
    std::string_view head;
    if (!split_target(head) || !ParseIdRange(head, ctl.id_from, ctl.id_to)) {
      error = "ctl:ruleRemoveTargetById wants id;TARGET";
      return false;
    }
  } else if (name == "ruleremovetargetbytag") {
    ctl.kind = K::kRuleRemoveTargetByTag;
    std::string_view head;
    if (!split_target(head)) {
      error = "ctl:ruleRemoveTargetByTag wants tag;TARGET";
      return false;
    }
    ctl.value = std::string(head);
  } else if (name == "requestbodyprocessor") {
    ctl.kind = K::kRequestBodyProcessor;
    ctl.value = Upper(value);
    if (ctl.value != "URLENCODED" && ctl.value != "MULTIPART" && ctl.value != "JSON" &&
        ctl.value != "XML") {
      error = "ctl:requestBodyProcessor must be URLENCODED, MULTIPART, JSON or XML";
      return false;
    }
  } else if (name == "forcerequestbodyvariable") {
    ctl.kind = K::kForceRequestBodyVariable;
    ctl.value = Upper(value);
  } else if (name == "auditengine") {
    ctl.kind = K::kAuditEngine;
    ctl.value = Upper(value);
  } else if (name == "requestbodyaccess") {
    ctl.kind = K::kRequestBodyAccess;
    ctl.value = Upper(value);
  } else if (name == "responsebodyaccess") {
    ctl.kind = K::kResponseBodyAccess;
    ctl.value = Upper(value);
  } else {
    error = "ctl:" + std::string(v.substr(0, eq)) + " is not supported";
    return false;
  }
  return true;
}

}  // namespace

bool IsCollection(Var v) noexcept { return v <= Var::kEnv; }

bool ParseVariables(std::string_view text, std::vector<VarSpec>& out, std::string& error) {
  std::size_t i = 0;
  while (i < text.size()) {
    VarSpec spec;
    if (!ReadTarget(text, i, spec, error)) return false;
    out.push_back(std::move(spec));
    if (i < text.size() && text[i] == '|') ++i;
  }
  if (out.empty()) {
    error = "no target";
    return false;
  }
  return true;
}

bool ParseOperator(std::string_view text, Rule& rule, std::string& error) {
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  if (!t.empty() && t.front() == '!') {
    rule.negated = true;
    t.remove_prefix(1);
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  }
  if (!t.empty() && t.front() == '@') {
    std::size_t end = 1;
    while (end < t.size() && !std::isspace(static_cast<unsigned char>(t[end]))) ++end;
    rule.op_name = std::string(t.substr(1, end - 1));
    t.remove_prefix(end);
    if (!t.empty()) t.remove_prefix(1);  // the one space between the name and its parameter
  } else {
    rule.op_name = "rx";  // an operator without a name is a regular expression
  }
  if (rule.op_name.empty()) {
    error = "an operator without a name";
    return false;
  }
  rule.op_param = std::string(t);
  rule.op_has_macros = ParamHasMacros(rule.op_param);
  if (rule.op_has_macros) rule.op_macro = ParseMacro(rule.op_param);
  return true;
}

bool ParseActions(std::string_view text, Actions& out, std::string& error) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (std::isspace(static_cast<unsigned char>(text[i])) || text[i] == ','))
      ++i;
    if (i >= text.size()) break;
    const std::size_t name_start = i;
    while (i < text.size() && text[i] != ':' && text[i] != ',') ++i;
    const std::string name = Lower(Trim(text.substr(name_start, i - name_start)));
    std::string value;
    bool has_value = false;
    if (i < text.size() && text[i] == ':') {
      has_value = true;
      ++i;
      while (i < text.size() && text[i] == ' ') ++i;
      if (i < text.size() && text[i] == '\'') {
        ++i;
        while (i < text.size() && text[i] != '\'') {
          if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\'') ++i;
          value.push_back(text[i++]);
        }
        if (i >= text.size()) {
          error = "action " + name + ": unclosed quote";
          return false;
        }
        ++i;
        while (i < text.size() && text[i] != ',') ++i;  // anything after the quote is dropped
      } else {
        const std::size_t start = i;
        while (i < text.size() && text[i] != ',') ++i;
        value = std::string(Trim(text.substr(start, i - start)));
      }
    }
    auto need_value = [&]() {
      if (has_value) return true;
      error = "action " + name + " needs a value (" + name + ":...)";
      return false;
    };
    if (name == "id") {
      if (!need_value() || !ParseInt(value, out.id) || out.id <= 0) {
        error = "id must be a positive number";
        return false;
      }
    } else if (name == "phase") {
      if (!need_value()) return false;
      const std::string v = Lower(value);
      std::int64_t p = 0;
      if (v == "request") {
        p = 2;
      } else if (v == "response") {
        p = 4;
      } else if (v == "logging") {
        p = 5;
      } else if (!ParseInt(v, p) || p < 1 || p > 5) {
        error = "phase must be 1 to 5, request, response or logging";
        return false;
      }
      out.phase = static_cast<int>(p);
    } else if (name == "t") {
      if (!need_value()) return false;
      if (Lower(value) == "none") {
        out.transforms.clear();
        out.t_none = true;
      } else {
        auto t = FindTransform(value);
        if (!t) {
          error = "unknown transformation t:" + value;
          return false;
        }
        out.transforms.push_back(*t);
      }
    } else if (name == "msg") {
      if (!need_value()) return false;
      out.msg = ParseMacro(value);
    } else if (name == "logdata") {
      if (!need_value()) return false;
      out.logdata = ParseMacro(value);
    } else if (name == "tag") {
      if (!need_value()) return false;
      out.tags.push_back(value);
    } else if (name == "severity") {
      out.severity = has_value ? SeverityOf(value) : -1;
      if (out.severity < 0) {
        error = "severity must be 0-7 or a name (CRITICAL, WARNING, ...)";
        return false;
      }
    } else if (name == "ver") {
      out.ver = value;
    } else if (name == "rev") {
      out.rev = value;
    } else if (name == "maturity") {
      out.maturity = value;
    } else if (name == "accuracy") {
      out.accuracy = value;
    } else if (name == "chain") {
      out.chain = true;
    } else if (name == "capture") {
      out.capture = true;
    } else if (name == "multimatch") {
      out.multi_match = true;
    } else if (name == "log") {
      out.log = true;
    } else if (name == "nolog") {
      out.log = false;
    } else if (name == "auditlog") {
      out.auditlog = true;
    } else if (name == "noauditlog") {
      out.auditlog = false;
    } else if (name == "pass") {
      out.disruptive = Disruptive::kPass;
    } else if (name == "block") {
      out.disruptive = Disruptive::kBlock;
    } else if (name == "deny") {
      out.disruptive = Disruptive::kDeny;
    } else if (name == "drop") {
      out.disruptive = Disruptive::kDrop;
    } else if (name == "allow") {
      out.disruptive = Disruptive::kAllow;
      const std::string v = Lower(value);
      out.allow_scope = v == "phase"     ? AllowScope::kPhase
                        : v == "request" ? AllowScope::kRequest
                                         : AllowScope::kAll;
    } else if (name == "status") {
      std::int64_t s = 0;
      if (!need_value() || !ParseInt(value, s) || s < 100 || s > 599) {
        error = "status must be an HTTP status (100-599)";
        return false;
      }
      out.status = static_cast<int>(s);
    } else if (name == "setvar") {
      if (!need_value()) return false;
      SetVar sv;
      if (!ParseSetVar(value, sv, error)) return false;
      out.setvars.push_back(std::move(sv));
    } else if (name == "ctl") {
      if (!need_value()) return false;
      Ctl ctl;
      if (!ParseCtl(value, ctl, error)) return false;
      out.ctls.push_back(std::move(ctl));
    } else if (name == "skip") {
      std::int64_t n = 0;
      if (!need_value() || !ParseInt(value, n) || n < 1) {
        error = "skip wants a positive count";
        return false;
      }
      out.skip = static_cast<int>(n);
    } else if (name == "skipafter") {
      if (!need_value()) return false;
      out.skip_after = value;
    } else if (name == "initcol" || name == "expirevar") {
      // Persistent collections (IP, GLOBAL, ...) are not kept: CRS v4 opens them only when
      // tx.enable_default_collections is set, and nothing in its rules reads them back. The
      // README says so; setvar on them is ignored the same way.
      if (!need_value()) return false;
    } else {
      error = "action '" + name + "' is not supported";
      return false;
    }
  }
  return true;
}

}  // namespace rampart::waf
