#include "pipeline/router.h"

#include <algorithm>

#include "core/strings.h"

namespace rampart {

bool CompiledRoute::Matches(const Exchange& ex, std::string_view req_path) const noexcept {
  if (!exact_hosts.empty() || !wildcard_hosts.empty()) {
    bool host_ok = false;
    for (const auto& h : exact_hosts) {
      if (IEquals(ex.host, h)) {
        host_ok = true;
        break;
      }
    }
    if (!host_ok) {
      for (const auto& suffix : wildcard_hosts) {
        // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
        if (ex.host.size() > suffix.size() && IEndsWith(ex.host, suffix)) {
          host_ok = true;
          break;
        }
      }
    }
    if (!host_ok) return false;
  }
  switch (path_kind) {
    case PathKind::kAny:
      break;
    case PathKind::kExact:
      if (req_path != path) return false;
      break;
    case PathKind::kPrefix:
      if (!req_path.starts_with(path)) return false;
      break;
    case PathKind::kRegex:
      if (!path_regex->Matches(req_path)) return false;
      break;
  }
  if (!methods.empty()) {
    bool ok = false;
    for (const auto& m : methods) {
      if (ex.method == m) {
        ok = true;
        break;
      }
    }
    if (!ok) return false;
  }
  for (const auto& hm : headers) {
    bool found = false;
    std::string_view v = ex.request_headers->Get(hm.name, &found);
    if (!hm.present) {
      if (found) return false;
      continue;
    }
    if (!found) return false;
    if (hm.exact && v != *hm.exact) return false;
    if (hm.regex && !hm.regex->Matches(v)) return false;
  }
  return true;
}

const CompiledRoute* Router::Match(const Exchange& ex, bool* ambiguous) const noexcept {
  const CompiledRoute* found = nullptr;
  for (const auto& r : routes_) {
    if (r->Matches(ex)) {
      found = r.get();
      break;
    }
  }
  if (ex.path.find(';') == std::string_view::npos) return found;
  // The same path without its segments' `;` parameters, as servlet containers read it.
  thread_local std::string bare;
  bare.clear();
  bool in_params = false;
  for (const char c : ex.path) {
    if (c == '/') in_params = false;
    if (c == ';') in_params = true;
    if (!in_params) bare.push_back(c);
  }
  const CompiledRoute* without = nullptr;
  for (const auto& r : routes_) {
    if (r->Matches(ex, bare)) {
      without = r.get();
      break;
    }
  }
  if (without != found && ambiguous != nullptr) *ambiguous = true;
  return found;
}

void CompiledRoute::CollectNeeds() {
  needs.clear();
  hold_body = 0;
  async_gates = taps_response = false;
  for (const auto& g : gates) {
    needs.push_back(g->Needs());
    hold_body = std::max(hold_body, needs.back().request_body);
    async_gates = async_gates || needs.back().async_request;
    taps_response = taps_response || needs.back().response_body;
  }
}

}  // namespace rampart
