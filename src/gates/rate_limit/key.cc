#include "gates/rate_limit/key.h"

#include "core/strings.h"
#include "pipeline/router.h"

namespace rampart::rate_limit {
namespace {

void AppendAddress(std::string& out, const boost::asio::ip::address& addr, int v4_bits, int v6_bits,
                   bool prefix) {
  auto append_masked = [&](const auto& bytes, int bits) {
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      const int keep = std::max(0, std::min(8, bits - static_cast<int>(i) * 8));
      const auto mask = static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
      out.push_back(static_cast<char>(bytes[i] & mask));
    }
  };
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) {
    append_masked(
        boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6()).to_bytes(),
        prefix ? v4_bits : 32);
  } else if (addr.is_v4()) {
    append_masked(addr.to_v4().to_bytes(), prefix ? v4_bits : 32);
  } else {
    append_masked(addr.to_v6().to_bytes(), prefix ? v6_bits : 128);
  }
}

}  // namespace

KeyResult QueryParam(std::string_view query, std::string_view name, std::string& out) {
  out.clear();
  thread_local std::string value;
  bool seen = false;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (!QueryNameIs(pair.substr(0, eq), name)) continue;
    PercentDecode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), value);
    if (seen && value != out) return KeyResult::kAmbiguous;
    seen = true;
    out = value;
  }
  return seen && !out.empty() ? KeyResult::kComplete : KeyResult::kMissing;
}

KeyResult BuildKey(const LimitConfig& limit, const Exchange& ex, std::string& out) {
  using K = KeyPart::Kind;
  out.assign(limit.name);
  bool complete = true;
  thread_local std::string decoded;
  for (const KeyPart& part : limit.key) {
    out.push_back('\x1f');
    std::string_view v;
    switch (part.kind) {
      case K::kClientIp:
      case K::kClientIpPrefix:
        AppendAddress(out, ex.client_address, part.v4_prefix, part.v6_prefix,
                      part.kind == K::kClientIpPrefix);
        continue;
      case K::kHeader:
        if (ex.request_headers != nullptr) {
          bool first = true;
          for (const auto& f : *ex.request_headers) {
            // X_Api_Key too: CGI-style origins read it as X-Api-Key.
            if (!SameFieldForCgi(f.name, part.name)) continue;
            if (!first && f.value != v) return KeyResult::kAmbiguous;
            first = false;
            v = f.value;
          }
        }
        break;
      case K::kQuery:
        if (QueryParam(ex.query, part.name, decoded) == KeyResult::kAmbiguous) {
          return KeyResult::kAmbiguous;
        }
        v = decoded;
        break;
      case K::kApiKey:
        v = ex.identity.api_key;
        break;
      case K::kPrincipal:
        v = ex.identity.principal;
        break;
      case K::kClaim:
        v = ex.identity.Attribute(part.name);
        break;
      case K::kRoute:
        v = ex.route ? std::string_view(ex.route->name) : "";
        break;
      case K::kMethod:
        v = ex.method;
        break;
      case K::kConstant:
        v = part.name;
        break;
    }
    if (v.empty()) {
      complete = false;
      out.push_back('-');
    } else {
      out.push_back('=');  // "-" as a value and an absent part stay distinct
      out.append(v);
    }
  }
  return complete ? KeyResult::kComplete : KeyResult::kMissing;
}

}  // namespace rampart::rate_limit
