// PROXY protocol parser: no crash, no read past the input, and the incremental contract holds:
// a header reported complete at length L is reported the same for every longer input, and a
// request for more bytes never reaches past a header that is complete with them.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/proxy_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using rampart::net::ParseProxyHeader;
  using rampart::net::ProxyHeader;
  using rampart::net::ProxyParseStatus;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  ProxyHeader h;
  const auto r = ParseProxyHeader(in, h);
  if (r.status == ProxyParseStatus::kDone) {
    if (r.length == 0 || r.length > in.size()) std::abort();
    ProxyHeader again;
    const auto exact = ParseProxyHeader(in.substr(0, r.length), again);
    if (exact.status != ProxyParseStatus::kDone || exact.length != r.length) std::abort();
    if (again.kind != h.kind || again.source != h.source || again.source_port != h.source_port)
      std::abort();
    // Every prefix asks for more without reaching past the end of the header.
    for (std::size_t i = 0; i < r.length; ++i) {
      ProxyHeader p;
      const auto part = ParseProxyHeader(in.substr(0, i), p);
      if (part.status != ProxyParseStatus::kNeedMore || part.length == 0) std::abort();
      if (h.version == 2 && i + part.length > r.length) std::abort();
    }
  } else if (r.status == ProxyParseStatus::kNeedMore) {
    if (r.length == 0) std::abort();
  }
  rampart::net::ProxyV1Take(in);
  return 0;
}
