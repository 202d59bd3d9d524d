// The authz gate's rules: read from YAML (with file:line errors) and evaluated against what is
// known of a request. No I/O and no coroutines, so the reader is fuzzed on its own.
//
// A rule applies when its `match` does (methods, paths); then `allow: true` allows, `require`
// allows when its condition holds and denies when not, and `deny_if` denies when its condition
// holds (else the next rule decides). The first rule that decides wins; none: the default. A
// shadow rule is evaluated, logged and counted, and then ignored.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/yaml_reader.h"
#include "core/cidr.h"

namespace rampart::authz {

// What a rule can look at: filled by the gate from the exchange.
struct Input {
  std::string_view principal;  // empty: anonymous
  std::string_view auth_method;
  const std::vector<std::string>* roles = nullptr;
  const std::vector<std::string>* scopes = nullptr;
  const std::vector<std::pair<std::string, std::string>>* attributes = nullptr;  // claim.<name>
  std::string_view method;
  std::string_view path;
  boost::asio::ip::address client;
  bool mtls = false;  // a verified client certificate
  std::string_view spiffe_id;
  std::string_view trust_domain;
  std::string_view subject;
  std::int64_t now = 0;  // seconds since the Unix epoch
};

// Role -> permissions; a permission ending in "*" grants every permission with that prefix.
using RoleMap = std::map<std::string, std::vector<std::string>, std::less<>>;

// A string test: equals one of `values`, starts with one of `prefixes`, or merely present.
struct Match {
  std::vector<std::string> values;
  std::vector<std::string> prefixes;
  bool present = false;
  bool Test(std::string_view v) const noexcept;
};

struct Condition {
  enum class Kind : std::uint8_t {
    kAll,
    kAny,
    kNot,
    kAuthenticated,
    kAuthMethod,
    kPrincipal,
    kRoles,
    kScopes,
    kPermissions,
    kClaim,
    kClientIp,
    kMtls,
    kMethod,
    kPath,
    kTime,
  };
  Kind kind = Kind::kAll;
  std::vector<Condition> children;  // all, any, not (one)
  bool flag = false;                // authenticated
  std::vector<std::string> list;    // auth_method, roles, scopes, permissions, method
  std::string name;                 // claim
  Match match;                      // principal, claim, path; mtls: spiffe ids
  Match trust_domains, subjects;    // mtls
  CidrSet cidrs;
  // time: days of the week (bit 0 = Monday), minutes of the day [from, to), offset from UTC.
  std::uint8_t days = 0x7f;
  int from = 0;
  int to = 24 * 60;
  int offset_minutes = 0;

  bool Eval(const Input& in, const RoleMap& roles) const noexcept;
};

struct Rule {
  std::string name;
  std::vector<std::string> methods;  // match: empty = any
  std::vector<std::string> paths;    // match: exact, or a prefix when it ends in '*' or '/'
  enum class Effect : std::uint8_t { kAllow, kRequire, kDenyIf } effect = Effect::kRequire;
  std::unique_ptr<Condition> condition;  // require, deny_if
  bool shadow = false;
  bool Applies(const Input& in) const noexcept;
};

struct Policy {
  RoleMap roles;
  std::vector<Rule> rules;
  bool default_allow = false;
};

enum class Verdict : std::uint8_t { kAllow, kDeny };

struct Outcome {
  Verdict verdict = Verdict::kDeny;
  const Rule* rule = nullptr;  // the deciding rule; null: the default
  // Shadow rules that would have decided differently from what was enforced, in order.
  std::vector<std::pair<const Rule*, Verdict>> shadowed;
};

Outcome Evaluate(const Policy& p, const Input& in);

// The path as rules see it, so that no spelling of a path escapes a rule written for it: `;`
// parameters dropped from each segment, percent-encoded unreserved characters decoded, empty
// segments merged, and `.` and `..` resolved (after decoding, so `%2e%2e` is `..`). False when
// the path hides a separator (`%2F`, `%5C`, a backslash) or a NUL, or is not valid percent
// encoding: such a request is denied.
bool NormalizePath(std::string_view raw, std::string& out);

// Reads the gate's settings: `roles`, `rules`, `default`. Null after reporting errors.
bool ReadPolicy(config::YamlReader& r, const YAML::Node& n, const std::string& path, Policy& out);
std::vector<std::string> PolicyKeys();

}  // namespace rampart::authz
