// YAML -> Config, with every error collected as file:line: message.
#include <fstream>
#include <set>
#include <sstream>

#include "config/config.h"
#include "config/yaml_reader.h"
#include "core/strings.h"
#include "gates/ip_list/ip_list_config.h"

namespace rampart::config {
namespace {

constexpr std::uint64_t kMaxSeconds = 7 * 24 * 3600;

void CheckPositive(YamlReader& r, const YAML::Node& n, std::string_view what,
                   std::chrono::microseconds d) {
  if (d.count() <= 0) r.Error(n, fmt::format("{}: must be greater than zero", what));
  if (d > std::chrono::seconds(kMaxSeconds))
    r.Error(n, fmt::format("{}: must be at most 7d", what));
}

void ReadDurationKey(YamlReader& r, YamlObject& obj, std::string_view key,
                     std::chrono::microseconds& out) {
  YAML::Node n = obj.Get(key);
  if (!n.IsDefined()) return;
  if (r.Duration(n, obj.Where(key), out)) CheckPositive(r, n, obj.Where(key), out);
}

void ReadSizeKey(YamlReader& r, YamlObject& obj, std::string_view key, std::uint64_t min,
                 std::uint64_t& out) {
  YAML::Node n = obj.Get(key);
  if (!n.IsDefined()) return;
  if (r.Size(n, obj.Where(key), out) && out < min) {
    r.Error(n, fmt::format("{}: must be at least {} bytes", obj.Where(key), min));
  }
}

bool IsHeaderName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!tchar) return false;
  }
  return true;
}

// Fields rampart writes itself (framing) or that belong to one connection (RFC 9110 7.6.1).
bool IsFramingOrHopByHop(std::string_view n) {
  for (std::string_view h : {"content-length", "transfer-encoding", "connection", "keep-alive",
                             "proxy-connection", "te", "trailer", "upgrade"}) {
    if (IEquals(n, h)) return true;
  }
  return false;
}

bool IsHeaderValue(std::string_view s) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

// Bodies held whole before the upstream is connected are held in memory: bounded.
constexpr std::uint64_t kMaxBufferedBody = 64ull << 20;

void ReadLimits(YamlReader& r, const YAML::Node& n, const std::string& path, ListenerLimits& l) {
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  ReadSizeKey(r, obj, "max_request_line", 64, l.max_request_line_bytes);
  ReadSizeKey(r, obj, "max_header_bytes", 256, l.max_header_bytes);
  if (auto v = obj.Get("max_headers"); v.IsDefined()) {
    if (r.Uint(v, obj.Where("max_headers"), l.max_headers) && l.max_headers == 0) {
      r.Error(v, obj.Where("max_headers") + ": must be at least 1");
    }
  }
  ReadSizeKey(r, obj, "max_body", 0, l.max_body_bytes);
  ReadDurationKey(r, obj, "header_timeout", l.header_timeout);
  ReadDurationKey(r, obj, "idle_timeout", l.idle_timeout);
  ReadDurationKey(r, obj, "body_timeout", l.body_timeout);
  ReadDurationKey(r, obj, "send_timeout", l.send_timeout);
  if (auto v = obj.Get("max_requests_per_connection"); v.IsDefined()) {
    r.Uint(v, obj.Where("max_requests_per_connection"), l.max_requests_per_connection);
  }
  if (auto v = obj.Get("max_ranges"); v.IsDefined()) {
    if (r.Uint(v, obj.Where("max_ranges"), l.max_ranges) &&
        (l.max_ranges == 0 || l.max_ranges > 64)) {
      r.Error(v, obj.Where("max_ranges") + ": must be from 1 to 64");
    }
  }
  if (auto v = obj.Get("range_abuse"); v.IsDefined()) {
    r.Choice(v, obj.Where("range_abuse"), {{"refuse", false}, {"strip", true}}, l.strip_bad_ranges);
  }
  ReadSizeKey(r, obj, "min_request_body_rate", 0, l.min_request_body_rate);
  ReadSizeKey(r, obj, "min_response_rate", 0, l.min_response_rate);
  if (auto v = obj.Get("rate_window"); v.IsDefined()) {
    if (r.Duration(v, obj.Where("rate_window"), l.rate_window) &&
        l.rate_window < std::chrono::seconds(1)) {
      r.Error(v, obj.Where("rate_window") + ": must be at least 1s");
    }
  }
  ReadSizeKey(r, obj, "buffer_request_body", 0, l.buffer_request_body);
  if (l.buffer_request_body > kMaxBufferedBody) {
    r.Error(n, path + ".buffer_request_body: must be at most 64MiB");
  }
  obj.Finish();
  if (l.max_request_line_bytes > l.max_header_bytes) {
    r.Error(n, path + ": max_request_line must not exceed max_header_bytes");
  }
}

// `ocsp: auto | off` and `ocsp_file: PATH` of one certificate (or of the cert/key shorthand).
void ReadOcsp(YamlReader& r, YamlObject& obj, const YAML::Node& n, TlsCertificate& tc) {
  if (auto v = obj.Get("ocsp"); v.IsDefined()) {
    r.Choice(v, obj.Where("ocsp"), {{"auto", OcspMode::kAuto}, {"off", OcspMode::kOff}}, tc.ocsp);
  }
  if (auto v = obj.Get("ocsp_file");
      v.IsDefined() && r.String(v, obj.Where("ocsp_file"), tc.ocsp_file)) {
    if (tc.ocsp == OcspMode::kOff) r.Error(n, obj.Where("ocsp_file") + ": not with 'ocsp: off'");
    if (tc.ocsp_file.empty()) r.Error(v, obj.Where("ocsp_file") + ": must not be empty");
    tc.ocsp = OcspMode::kFile;
  }
}

void ReadTls(YamlReader& r, const YAML::Node& n, const std::string& path, Listener& l) {
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  ListenerTls t;
  t.origin = r.OriginOf(n);
  TlsCertificate single;
  const bool has_cert = obj.Get("cert").IsDefined(), has_key = obj.Get("key").IsDefined();
  if (has_cert || has_key) {  // shorthand for one certificate
    if (!has_cert || !has_key) r.Error(n, path + ": 'cert' and 'key' go together");
    if (has_cert) r.String(obj.Get("cert"), obj.Where("cert"), single.cert);
    if (has_key) r.String(obj.Get("key"), obj.Where("key"), single.key);
    ReadOcsp(r, obj, n, single);
    t.certificates.push_back(single);
  }
  if (auto v = obj.Get("certificates"); v.IsDefined()) {
    if (!v.IsSequence() || v.size() == 0) {
      r.Error(v, path + ".certificates: a non-empty list of { cert, key }");
    } else {
      for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string p = fmt::format("{}.certificates[{}]", path, i);
        YamlObject c(r, v[i], p);
        if (!c.ok()) continue;
        TlsCertificate tc;
        if (auto x = c.Get("cert"); x.IsDefined()) {
          r.String(x, c.Where("cert"), tc.cert);
        } else {
          r.Error(v[i], p + ": missing 'cert'");
        }
        if (auto x = c.Get("key"); x.IsDefined()) {
          r.String(x, c.Where("key"), tc.key);
        } else {
          r.Error(v[i], p + ": missing 'key'");
        }
        ReadOcsp(r, c, v[i], tc);
        c.Finish();
        t.certificates.push_back(tc);
      }
    }
  }
  if (t.certificates.empty()) {
    r.Error(n, path + ": needs 'cert' and 'key', or 'certificates'");
  }
  if (auto v = obj.Get("profile"); v.IsDefined()) {
    r.Choice(v, obj.Where("profile"),
             {{"intermediate", TlsProfile::kIntermediate}, {"modern", TlsProfile::kModern}},
             t.profile);
  }
  t.min_version = t.profile == TlsProfile::kModern ? 13 : 12;
  if (auto v = obj.Get("min_version"); v.IsDefined()) {  // older versions are never offered
    r.Choice(v, obj.Where("min_version"), {{"1.2", 12}, {"1.3", 13}}, t.min_version);
  }
  if (auto v = obj.Get("ciphers"); v.IsDefined()) r.String(v, obj.Where("ciphers"), t.ciphers);
  if (auto v = obj.Get("client_cert"); v.IsDefined()) {
    r.Choice(v, obj.Where("client_cert"),
             {{"off", ClientCertMode::kOff},
              {"optional", ClientCertMode::kOptional},
              {"required", ClientCertMode::kRequired}},
             t.client_cert);
  }
  if (auto v = obj.Get("client_ca"); v.IsDefined())
    r.String(v, obj.Where("client_ca"), t.client_ca);
  if (auto v = obj.Get("crl"); v.IsDefined()) r.String(v, obj.Where("crl"), t.crl);
  if (auto v = obj.Get("verify_depth"); v.IsDefined()) {
    std::uint64_t d = 0;
    if (r.Uint(v, obj.Where("verify_depth"), 16, d)) t.verify_depth = static_cast<int>(d);
  }
  if (auto v = obj.Get("session_tickets"); v.IsDefined()) {
    r.Bool(v, obj.Where("session_tickets"), t.session_tickets);
  }
  if (t.client_cert != ClientCertMode::kOff && t.client_ca.empty()) {
    r.Error(n, path + ".client_ca: required when client_cert is optional or required");
  }
  obj.Finish();
  l.tls = std::move(t);
}

void ReadHttp2(YamlReader& r, const YAML::Node& n, const std::string& path, ListenerHttp2& h) {
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  if (auto v = obj.Get("enabled"); v.IsDefined()) r.Bool(v, obj.Where("enabled"), h.enabled);
  auto count = [&](const char* key, std::uint64_t min, std::uint64_t max, std::uint32_t& out) {
    auto v = obj.Get(key);
    if (!v.IsDefined()) return;
    std::uint64_t x = 0;
    if (!r.Uint(v, obj.Where(key), max, x)) return;
    if (x < min) {
      r.Error(v, fmt::format("{}: must be at least {}", obj.Where(key), min));
      return;
    }
    out = static_cast<std::uint32_t>(x);
  };
  auto size = [&](const char* key, std::uint64_t min, std::uint64_t max, std::uint32_t& out) {
    std::uint64_t x = out;
    ReadSizeKey(r, obj, key, min, x);
    if (x > max) {
      r.Error(obj.Get(key), fmt::format("{}: at most {} bytes", obj.Where(key), max));
      return;
    }
    out = static_cast<std::uint32_t>(x);
  };
  count("max_concurrent_streams", 1, 1u << 20, h.max_concurrent_streams);
  // RFC 9113 section 6.9.2: windows are at most 2^31-1; below 64KiB-1 would slow every upload.
  size("initial_stream_window", 65535, 0x7fffffff, h.initial_stream_window);
  size("connection_window", 65535, 0x7fffffff, h.connection_window);
  size("max_header_table", 0, 1u << 20, h.max_header_table);
  count("reset_burst", 1, 1u << 20, h.reset_burst);
  count("resets_per_second", 1, 1u << 20, h.resets_per_second);
  count("max_continuations", 1, 1024, h.max_continuations);
  count("max_control_frames_per_second", 1, 1u << 20, h.max_control_frames_per_second);
  obj.Finish();
}

void ReadConnections(YamlReader& r, const YAML::Node& n, const std::string& path,
                     ListenerConnections& c) {
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  if (auto v = obj.Get("max"); v.IsDefined())
    r.Uint(v, obj.Where("max"), 1u << 30, c.max_connections);
  if (auto v = obj.Get("max_per_source"); v.IsDefined()) {
    std::uint64_t m = 0;
    if (r.Uint(v, obj.Where("max_per_source"), 1u << 30, m))
      c.max_per_source = static_cast<std::uint32_t>(m);
  }
  if (auto v = obj.Get("rate_per_source"); v.IsDefined()) {
    std::string s;
    if (r.String(v, obj.Where("rate_per_source"), s)) {
      if (auto rate = ParseRate(s); rate && rate->count > 0) {
        c.rate_per_source = *rate;
      } else {
        r.Error(v, fmt::format("{}: '{}' is not a rate (e.g. 20/s, 600/m)",
                               obj.Where("rate_per_source"), s));
      }
    }
  }
  if (auto v = obj.Get("ipv6_prefix"); v.IsDefined()) {
    std::uint64_t p = 0;
    if (r.Uint(v, obj.Where("ipv6_prefix"), 128, p)) {
      if (p < 32)
        r.Error(v, obj.Where("ipv6_prefix") + ": at least 32 (a whole provider is not a client)");
      c.ipv6_prefix = static_cast<int>(p);
    }
  }
  if (auto v = obj.Get("burst_per_source"); v.IsDefined()) {
    std::uint64_t b = 0;
    if (r.Uint(v, obj.Where("burst_per_source"), 1u << 20, b))
      c.burst_per_source = static_cast<double>(b);
    if (c.rate_per_source.count <= 0)
      r.Error(v, obj.Where("burst_per_source") + ": needs rate_per_source");
  }
  obj.Finish();
}

void ReadListener(YamlReader& r, const YAML::Node& n, std::size_t index, Config& cfg) {
  std::string path = fmt::format("listeners[{}]", index);
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  Listener l;
  l.origin = r.OriginOf(n);
  l.name = fmt::format("listener{}", index);
  if (auto v = obj.Get("name"); v.IsDefined()) r.String(v, obj.Where("name"), l.name);
  if (auto v = obj.Get("address"); v.IsDefined()) {
    if (r.String(v, obj.Where("address"), l.address) && !SplitHostPort(l.address, l.host, l.port)) {
      r.Error(v, fmt::format("{}: '{}' is not host:port (e.g. 127.0.0.1:8080 or [::1]:8080)",
                             obj.Where("address"), l.address));
    }
  } else {
    r.Error(n, path + ": missing required key 'address'");
  }
  auto cidrs = [&](const YAML::Node& v, const std::string& where, CidrSet& out) {
    std::vector<std::string> nets;
    if (!r.StringList(v, where, nets)) return;
    for (const auto& s : nets) {
      if (auto c = Cidr::Parse(s))
        out.Add(*c);
      else
        r.Error(v, fmt::format("{}: '{}' is not an address or CIDR network", where, s));
    }
  };
  if (auto v = obj.Get("trusted_proxies"); v.IsDefined())
    cidrs(v, obj.Where("trusted_proxies"), l.trusted_proxies);
  if (auto v = obj.Get("client_ip_header"); v.IsDefined()) {
    r.Choice(v, obj.Where("client_ip_header"),
             {{"x-forwarded-for", http::ClientIpHeader::kXForwardedFor},
              {"forwarded", http::ClientIpHeader::kForwarded},
              {"none", http::ClientIpHeader::kNone}},
             l.client_ip_header);
  }
  if (auto v = obj.Get("proxy_protocol"); v.IsDefined()) {
    const std::string where = obj.Where("proxy_protocol");
    YamlObject pp(r, v, where);
    if (pp.ok()) {
      l.proxy_protocol = true;
      if (auto f = pp.Get("from"); f.IsDefined()) cidrs(f, pp.Where("from"), l.proxy_protocol_from);
      if (l.proxy_protocol_from.empty()) {
        r.Error(v, where +
                       ".from: required: the balancers' addresses or CIDRs allowed to send "
                       "the PROXY header (everyone else is refused)");
      }
      pp.Finish();
    }
  }
  if (auto v = obj.Get("ip_list"); v.IsDefined()) {
    ip_list::IpListSpec spec;
    if (ip_list::IpListFields().Read(r, v, obj.Where("ip_list"), spec)) l.ip_list = std::move(spec);
    l.ip_list_origin = r.OriginOf(v);
  }
  if (auto v = obj.Get("connections"); v.IsDefined())
    ReadConnections(r, v, obj.Where("connections"), l.connections);
  if (auto v = obj.Get("limits"); v.IsDefined()) ReadLimits(r, v, obj.Where("limits"), l.limits);
  if (auto v = obj.Get("tls"); v.IsDefined()) ReadTls(r, v, obj.Where("tls"), l);
  if (auto v = obj.Get("http2"); v.IsDefined()) ReadHttp2(r, v, obj.Where("http2"), l.http2);
  if (l.tls) l.tls->alpn_h2 = l.http2.enabled;
  obj.Finish();
  for (const auto& other : cfg.listeners) {
    if (other.name == l.name)
      r.Error(n, fmt::format("{}: duplicate listener name '{}'", path, l.name));
    if (other.address == l.address && !l.address.empty()) {
      r.Error(n, fmt::format("{}: address {} is already used by listener '{}'", path, l.address,
                             other.name));
    }
  }
  cfg.listeners.push_back(std::move(l));
}

void ReadHeaderRules(YamlReader& r, const YAML::Node& n, const std::string& path, HeaderRules& h) {
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  if (auto add = obj.Get("add"); add.IsDefined()) {
    if (!add.IsMap()) {
      r.Error(add, path + ".add: expected a mapping of header name to value");
    } else {
      for (auto it = add.begin(); it != add.end(); ++it) {
        std::string name, value;
        if (!r.String(it->first, path + ".add", name) ||
            !r.String(it->second, path + ".add." + name, value))
          continue;
        if (!IsHeaderName(name))
          r.Error(it->first, fmt::format("{}.add: '{}' is not a valid header name", path, name));
        else if (!IsHeaderValue(value))
          r.Error(it->second, fmt::format("{}.add.{}: value has control characters", path, name));
        else
          h.add.emplace_back(name, value);
      }
    }
  }
  if (auto rm = obj.Get("remove"); rm.IsDefined()) {
    std::vector<std::string> names;
    if (r.StringList(rm, path + ".remove", names)) {
      for (auto& name : names) {
        if (!IsHeaderName(name))
          r.Error(rm, fmt::format("{}.remove: '{}' is not a valid header name", path, name));
        else
          h.remove.push_back(ToLower(name));
      }
    }
  }
  obj.Finish();
}

void ReadMatch(YamlReader& r, const YAML::Node& n, const std::string& path, RouteMatch& m) {
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  if (auto v = obj.Get("host"); v.IsDefined()) {
    if (r.StringList(v, obj.Where("host"), m.hosts)) {
      for (auto& h : m.hosts) {
        h = ToLower(h);
        if (h.empty() || h.find('*', h.starts_with("*.") ? 1 : 0) != std::string::npos) {
          r.Error(v,
                  fmt::format("{}: '{}' must be a host name or '*.domain'", obj.Where("host"), h));
        }
      }
    }
  }
  auto read_path = [&](std::string_view key, std::optional<std::string>& out) {
    if (auto v = obj.Get(key); v.IsDefined()) {
      std::string s;
      if (r.String(v, obj.Where(key), s)) {
        if (key != "path_regex" && !s.starts_with("/")) {
          r.Error(v, fmt::format("{}: must start with '/'", obj.Where(key)));
        }
        out = std::move(s);
      }
    }
  };
  read_path("path", m.path);
  read_path("path_prefix", m.path_prefix);
  read_path("path_regex", m.path_regex);
  int path_kinds = m.path.has_value() + m.path_prefix.has_value() + m.path_regex.has_value();
  if (path_kinds > 1) r.Error(n, path + ": use only one of path, path_prefix and path_regex");
  if (auto v = obj.Get("methods"); v.IsDefined()) {
    if (r.StringList(v, obj.Where("methods"), m.methods)) {
      for (const auto& meth : m.methods) {
        if (!IsHeaderName(meth))
          r.Error(v, fmt::format("{}: '{}' is not a method token", obj.Where("methods"), meth));
      }
    }
  }
  if (auto v = obj.Get("headers"); v.IsDefined()) {
    if (!v.IsSequence()) {
      r.Error(v, obj.Where("headers") + ": expected a list of {name, value | regex | present}");
    } else {
      for (std::size_t i = 0; i < v.size(); ++i) {
        std::string hp = fmt::format("{}[{}]", obj.Where("headers"), i);
        YamlObject ho(r, v[i], hp);
        if (!ho.ok()) continue;
        HeaderMatch hm;
        if (auto nn = ho.Get("name"); nn.IsDefined()) {
          if (r.String(nn, hp + ".name", hm.name) && !IsHeaderName(hm.name)) {
            r.Error(nn, fmt::format("{}.name: '{}' is not a valid header name", hp, hm.name));
          }
          hm.name = ToLower(hm.name);
        } else {
          r.Error(v[i], hp + ": missing required key 'name'");
        }
        if (auto x = ho.Get("value"); x.IsDefined()) {
          std::string s;
          if (r.String(x, hp + ".value", s)) hm.exact = s;
        }
        if (auto x = ho.Get("regex"); x.IsDefined()) {
          std::string s;
          if (r.String(x, hp + ".regex", s)) hm.regex = s;
        }
        if (auto x = ho.Get("present"); x.IsDefined()) r.Bool(x, hp + ".present", hm.present);
        if (hm.exact && hm.regex) r.Error(v[i], hp + ": use value or regex, not both");
        ho.Finish();
        m.headers.push_back(std::move(hm));
      }
    }
  }
  obj.Finish();
}

// A list of `- <kind>: {settings}` (a route's gates, an upstream's policies): kinds and settings
// are kept for their registered factories, which the snapshot builder calls.
void ReadKindList(YamlReader& r, const YAML::Node& v, const std::string& path,
                  std::string_view what, std::string_view example, std::vector<GateSpec>& out) {
  if (!v.IsSequence()) {
    r.Error(v, fmt::format("{}: expected a list of {}s, e.g. {}", path, what, example));
    return;
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    const YAML::Node g = v[i];
    if (!g.IsMap() || g.size() != 1) {
      r.Error(g, fmt::format("{}[{}]: each {} is a mapping with one key, the {}'s kind", path, i,
                             what, what));
      continue;
    }
    auto it = g.begin();
    GateSpec spec;
    spec.origin = r.OriginOf(it->first);
    spec.kind = it->first.Scalar();
    spec.settings = it->second;
    out.push_back(std::move(spec));
  }
}

void ReadFallback(YamlReader& r, const YAML::Node& v, const std::string& path, Route& route) {
  YamlObject f(r, v, path);
  if (!f.ok()) return;
  RouteFallback fb;
  if (auto x = f.Get("status"); x.IsDefined()) {
    std::uint64_t st = 0;
    if (r.Uint(x, f.Where("status"), 599, st)) {
      if (st < 200) r.Error(x, f.Where("status") + ": a final status from 200 to 599");
      fb.status = static_cast<int>(st);
    }
  }
  if (auto x = f.Get("headers"); x.IsDefined()) {
    if (!x.IsMap()) {
      r.Error(x, f.Where("headers") + ": a mapping of header name to value");
    } else {
      for (const auto& kv : x) {
        const std::string name = kv.first.Scalar();
        std::string value;
        if (!r.String(kv.second, f.Where("headers") + "." + name, value)) continue;
        if (!IsHeaderName(name) || !IsHeaderValue(value) || IsFramingOrHopByHop(name)) {
          r.Error(kv.first, fmt::format("{}: '{}' cannot be sent as a fallback header",
                                        f.Where("headers"), name));
          continue;
        }
        fb.headers.emplace_back(name, value);
      }
    }
  }
  if (auto x = f.Get("body"); x.IsDefined()) r.String(x, f.Where("body"), fb.body);
  if (auto x = f.Get("body_file"); x.IsDefined()) r.String(x, f.Where("body_file"), fb.body_file);
  if (!fb.body.empty() && !fb.body_file.empty())
    r.Error(v, path + ": 'body' and 'body_file' are exclusive");
  if (auto x = f.Get("on"); x.IsDefined()) {
    if (r.StringList(x, f.Where("on"), fb.on)) {
      for (const auto& w : fb.on) {
        if (w != "circuit_open" && w != "no_endpoint" && w != "overloaded" && w != "timeout" &&
            w != "unavailable")
          r.Error(x, fmt::format("{}: '{}' is not circuit_open, no_endpoint, overloaded, timeout "
                                 "or unavailable",
                                 f.Where("on"), w));
      }
    }
  }
  f.Finish();
  route.fallback = std::move(fb);
}

void ReadRoute(YamlReader& r, const YAML::Node& n, std::size_t index, Config& cfg) {
  std::string path = fmt::format("routes[{}]", index);
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  Route route;
  route.origin = r.OriginOf(n);
  route.name = fmt::format("route{}", index);
  if (auto v = obj.Get("name"); v.IsDefined()) r.String(v, obj.Where("name"), route.name);
  if (auto v = obj.Get("match"); v.IsDefined()) ReadMatch(r, v, obj.Where("match"), route.match);
  if (auto v = obj.Get("upstream"); v.IsDefined()) {
    r.String(v, obj.Where("upstream"), route.upstream);
  } else {
    r.Error(n, path + ": missing required key 'upstream'");
  }
  if (auto v = obj.Get("rewrite"); v.IsDefined()) {
    YamlObject rw(r, v, obj.Where("rewrite"));
    if (rw.ok()) {
      if (auto h = rw.Get("host"); h.IsDefined()) {
        std::string s;
        if (r.String(h, rw.Where("host"), s)) {
          if (s.empty() || !IsHeaderValue(s)) r.Error(h, rw.Where("host") + ": not a valid host");
          route.host_rewrite = s;
        }
      }
      if (auto p = rw.Get("path_prefix"); p.IsDefined()) {
        std::string s;
        if (r.String(p, rw.Where("path_prefix"), s)) {
          if (!s.starts_with("/")) r.Error(p, rw.Where("path_prefix") + ": must start with '/'");
          route.path_prefix_rewrite = s;
        }
      }
      rw.Finish();
      if (route.path_prefix_rewrite && !route.match.path_prefix && !route.match.path) {
        r.Error(v, path + ".rewrite.path_prefix: needs match.path_prefix or match.path to replace");
      }
    }
  }
  if (auto v = obj.Get("request_headers"); v.IsDefined()) {
    ReadHeaderRules(r, v, obj.Where("request_headers"), route.request_headers);
  }
  if (auto v = obj.Get("response_headers"); v.IsDefined()) {
    ReadHeaderRules(r, v, obj.Where("response_headers"), route.response_headers);
  }
  if (auto v = obj.Get("websocket"); v.IsDefined()) {
    if (v.IsScalar()) {
      r.Bool(v, obj.Where("websocket"), route.websocket.enabled);
    } else {
      YamlObject ws(r, v, obj.Where("websocket"));
      if (ws.ok()) {
        route.websocket.enabled = true;
        if (auto x = ws.Get("enabled"); x.IsDefined())
          r.Bool(x, ws.Where("enabled"), route.websocket.enabled);
        if (auto x = ws.Get("idle_timeout"); x.IsDefined()) {
          if (r.Duration(x, ws.Where("idle_timeout"), route.websocket.idle_timeout) &&
              route.websocket.idle_timeout.count() <= 0) {
            r.Error(x, ws.Where("idle_timeout") + ": must be more than 0");
          }
        }
        ws.Finish();
      }
    }
  }
  if (auto v = obj.Get("fallback_upstream"); v.IsDefined())
    r.String(v, obj.Where("fallback_upstream"), route.fallback_upstream);
  if (auto v = obj.Get("fallback"); v.IsDefined()) ReadFallback(r, v, obj.Where("fallback"), route);
  if (auto v = obj.Get("buffer_request_body"); v.IsDefined()) {
    std::uint64_t n = 0;
    if (r.Size(v, obj.Where("buffer_request_body"), n)) {
      if (n > kMaxBufferedBody) {
        r.Error(v, obj.Where("buffer_request_body") + ": must be at most 64MiB");
      }
      route.buffer_request_body = n;
    }
  }
  if (auto v = obj.Get("timeout"); v.IsDefined()) {
    if (r.Duration(v, obj.Where("timeout"), route.timeout) &&
        (route.timeout.count() <= 0 || route.timeout > std::chrono::hours(24)))
      r.Error(v, obj.Where("timeout") + ": must be more than 0 and at most 24h");
  }
  if (auto v = obj.Get("timeout_header"); v.IsDefined()) {
    if (r.String(v, obj.Where("timeout_header"), route.timeout_header) &&
        !IsHeaderName(route.timeout_header))
      r.Error(v, obj.Where("timeout_header") + ": not a header name");
  }
  if (auto v = obj.Get("gate_order"); v.IsDefined()) {
    std::string s;
    if (r.String(v, obj.Where("gate_order"), s)) {
      if (s == "explicit")
        route.explicit_gate_order = true;
      else if (s != "default")
        r.Error(v, obj.Where("gate_order") + ": expected 'default' or 'explicit'");
    }
  }
  if (auto v = obj.Get("gates"); v.IsDefined()) {
    ReadKindList(r, v, obj.Where("gates"), "gate", "- rate_limit: {...}", route.gates);
  }
  obj.Finish();
  for (const auto& other : cfg.routes) {
    if (other.name == route.name)
      r.Error(n, fmt::format("{}: duplicate route name '{}'", path, route.name));
  }
  cfg.routes.push_back(std::move(route));
}

// `hash_on: client_address | path | {header: NAME} | {cookie: NAME}`.
void ReadHashOn(YamlReader& r, const YAML::Node& v, const std::string& path, HashOn& out) {
  if (v.IsScalar()) {
    r.Choice(v, path,
             {{"client_address", HashOn::Kind::kClientAddress}, {"path", HashOn::Kind::kPath}},
             out.kind);
    return;
  }
  YamlObject h(r, v, path);
  if (!h.ok()) return;
  for (auto [key, kind] :
       {std::pair{"header", HashOn::Kind::kHeader}, std::pair{"cookie", HashOn::Kind::kCookie}}) {
    if (auto x = h.Get(key); x.IsDefined()) {
      if (r.String(x, h.Where(key), out.name) && !IsHeaderName(out.name))
        r.Error(x, h.Where(key) + ": not a valid name");
      out.kind = kind;
    }
  }
  h.Finish();
  if (out.kind == HashOn::Kind::kNone)
    r.Error(v, path + ": client_address, path, {header: NAME} or {cookie: NAME}");
}

void ReadUpstream(YamlReader& r, const std::string& name, const YAML::Node& n, Config& cfg) {
  std::string path = "upstreams." + name;
  YamlObject obj(r, n, path);
  if (!obj.ok()) return;
  Upstream u;
  u.origin = r.OriginOf(n);
  u.name = name;
  // `endpoints`, then `backup_endpoints` (taking traffic only while no primary is up); each
  // `host:port` or `{address: host:port, weight: N}`.
  auto read_endpoints = [&](const YAML::Node& v, const std::string& key, bool backup) {
    const std::string where = obj.Where(key);
    std::vector<YAML::Node> items;
    if (v.IsSequence()) {
      for (std::size_t i = 0; i < v.size(); ++i) items.push_back(v[i]);
    } else if (v.IsScalar()) {
      items.push_back(v);
    } else {
      r.Error(v, where + ": expected a list of host:port (or {address, weight})");
      return std::size_t{0};
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      const YAML::Node& item = items[i];
      const std::string at = fmt::format("{}[{}]", where, i);
      Endpoint ep;
      ep.backup = backup;
      if (item.IsMap()) {
        YamlObject e(r, item, at);
        if (auto a = e.Get("address"); a.IsDefined()) {
          r.String(a, e.Where("address"), ep.address);
        } else {
          r.Error(item, at + ": missing required key 'address'");
        }
        if (auto w = e.Get("weight"); w.IsDefined()) {
          std::uint64_t weight = 0;
          if (r.Uint(w, e.Where("weight"), 1000, weight)) {
            if (weight == 0) r.Error(w, e.Where("weight") + ": from 1 to 1000");
            ep.weight = static_cast<std::uint32_t>(std::max<std::uint64_t>(weight, 1));
          }
        }
        e.Finish();
        if (ep.address.empty()) continue;
      } else if (!r.String(item, at, ep.address)) {
        continue;
      }
      if (!SplitHostPort(ep.address, ep.host, ep.port)) {
        r.Error(item, fmt::format("{}: '{}' is not host:port", where, ep.address));
        continue;
      }
      for (const auto& other : u.endpoints) {
        if (other.address == ep.address)
          r.Error(item, fmt::format("{}: '{}' is listed twice", where, ep.address));
      }
      u.endpoints.push_back(std::move(ep));
    }
    return items.size();
  };
  if (auto v = obj.Get("endpoints"); v.IsDefined()) {
    if (read_endpoints(v, "endpoints", false) == 0 && u.endpoints.empty())
      r.Error(v, obj.Where("endpoints") + ": needs at least one endpoint");
  } else {
    r.Error(n, path + ": missing required key 'endpoints'");
  }
  if (auto v = obj.Get("backup_endpoints"); v.IsDefined())
    read_endpoints(v, "backup_endpoints", true);
  if (auto v = obj.Get("load_balancer"); v.IsDefined()) {
    r.Choice(v, obj.Where("load_balancer"),
             {{"round_robin", LoadBalancer::kRoundRobin},
              {"least_request", LoadBalancer::kLeastRequest},
              {"ring_hash", LoadBalancer::kRingHash},
              {"maglev", LoadBalancer::kMaglev}},
             u.load_balancer);
  }
  if (auto v = obj.Get("hash_on"); v.IsDefined()) {
    ReadHashOn(r, v, obj.Where("hash_on"), u.hash_on);
  }
  if ((u.load_balancer == LoadBalancer::kRingHash || u.load_balancer == LoadBalancer::kMaglev) &&
      u.hash_on.kind == HashOn::Kind::kNone) {
    r.Error(n, path + ": load_balancer " +
                   (u.load_balancer == LoadBalancer::kMaglev ? "maglev" : "ring_hash") +
                   " needs hash_on (header, cookie, client_address or path)");
  }
  if (auto v = obj.Get("protocol"); v.IsDefined()) {
    r.Choice(v, obj.Where("protocol"),
             {{"http1", UpstreamProtocol::kHttp1}, {"h2", UpstreamProtocol::kHttp2}}, u.protocol);
    u.protocol_line = r.OriginOf(v).line;
  }
  if (auto v = obj.Get("timeouts"); v.IsDefined()) {
    YamlObject t(r, v, obj.Where("timeouts"));
    if (t.ok()) {
      ReadDurationKey(r, t, "connect", u.connect_timeout);
      ReadDurationKey(r, t, "response", u.response_timeout);
      ReadDurationKey(r, t, "drain", u.drain_timeout);
      t.Finish();
    }
  }
  if (auto v = obj.Get("keepalive"); v.IsDefined()) {
    YamlObject k(r, v, obj.Where("keepalive"));
    if (k.ok()) {
      if (auto m = k.Get("max_idle"); m.IsDefined())
        r.Uint(m, k.Where("max_idle"), u.max_idle_per_endpoint);
      ReadDurationKey(r, k, "idle_timeout", u.idle_timeout);
      k.Finish();
    }
  }
  if (auto v = obj.Get("tls"); v.IsDefined()) {
    YamlObject t(r, v, obj.Where("tls"));
    if (t.ok()) {
      UpstreamTls tls;
      tls.origin = r.OriginOf(v);
      if (auto x = t.Get("ca"); x.IsDefined()) r.String(x, t.Where("ca"), tls.ca);
      if (auto x = t.Get("server_name"); x.IsDefined())
        r.String(x, t.Where("server_name"), tls.server_name);
      if (auto x = t.Get("cert"); x.IsDefined()) r.String(x, t.Where("cert"), tls.cert);
      if (auto x = t.Get("key"); x.IsDefined()) r.String(x, t.Where("key"), tls.key);
      if (tls.cert.empty() != tls.key.empty())
        r.Error(v, t.Where("cert") + ": 'cert' and 'key' go together");
      if (auto x = t.Get("min_version"); x.IsDefined()) {
        r.Choice(x, t.Where("min_version"), {{"1.2", 12}, {"1.3", 13}}, tls.min_version);
      }
      t.Finish();
      u.tls = std::move(tls);
    }
  }
  if (auto v = obj.Get("policies"); v.IsDefined()) {
    ReadKindList(r, v, obj.Where("policies"), "policy", "- circuit_breaker: {...}", u.policies);
  }
  obj.Finish();
  cfg.upstreams.emplace(name, std::move(u));
}

void ReadState(YamlReader& r, const YAML::Node& v, StateConfig& out) {
  YamlObject st(r, v, "state");
  if (!st.ok()) return;
  if (auto x = st.Get("max_keys"); x.IsDefined()) {
    if (r.Uint(x, "state.max_keys", std::uint64_t{1} << 32, out.max_keys) && out.max_keys < 64) {
      r.Error(x, "state.max_keys: must be at least 64");
    }
  }
  if (auto x = st.Get("redis"); x.IsDefined()) {
    YamlObject rd(r, x, "state.redis");
    if (rd.ok()) {
      RedisConfig c;
      c.origin = r.OriginOf(x);
      if (auto a = rd.Get("address"); a.IsDefined()) {
        if (r.String(a, "state.redis.address", c.address) &&
            !SplitHostPort(c.address, c.host, c.port)) {
          r.Error(a, fmt::format("state.redis.address: '{}' is not host:port", c.address));
        }
      } else {
        r.Error(x, "state.redis.address: required (host:port of the Redis server)");
      }
      if (auto a = rd.Get("password"); a.IsDefined())
        r.String(a, "state.redis.password", c.password);
      if (auto a = rd.Get("database"); a.IsDefined()) {
        std::uint64_t db = 0;
        if (r.Uint(a, "state.redis.database", 15, db)) c.database = static_cast<int>(db);
      }
      if (auto a = rd.Get("timeout"); a.IsDefined()) {
        if (r.Duration(a, "state.redis.timeout", c.timeout) && c.timeout.count() <= 0) {
          r.Error(a, "state.redis.timeout: must be more than 0");
        }
      }
      if (auto a = rd.Get("reconnect_interval"); a.IsDefined()) {
        if (r.Duration(a, "state.redis.reconnect_interval", c.reconnect_interval) &&
            c.reconnect_interval < std::chrono::milliseconds(10)) {
          r.Error(a, "state.redis.reconnect_interval: must be at least 10ms");
        }
      }
      rd.Finish();
      out.redis = std::move(c);
    }
  }
  st.Finish();
}

void ReadTop(YamlReader& r, const YAML::Node& root, Config& cfg) {
  YamlObject top(r, root, "");
  if (!top.ok()) return;
  if (auto v = top.Get("workers"); v.IsDefined()) {
    std::uint64_t n = 0;
    if (v.IsScalar() && v.Scalar() == "auto") {
      cfg.workers = 0;
    } else if (r.Uint(v, "workers", 256, n)) {
      if (n == 0) r.Error(v, "workers: must be 'auto' or at least 1");
      cfg.workers = static_cast<int>(n);
    }
  }
  ReadDurationKey(r, top, "drain_timeout", cfg.drain_timeout);
  if (auto v = top.Get("blackhole"); v.IsDefined()) {
    YamlObject o(r, v, "blackhole");
    if (o.ok()) {
      gates::BlackholeSettings b;
      if (auto x = o.Get("refusals"); x.IsDefined()) {
        std::uint64_t n = 0;
        if (r.Uint(x, o.Where("refusals"), 1'000'000, n)) {
          if (n == 0) r.Error(x, o.Where("refusals") + ": at least 1");
          b.refusals = static_cast<std::uint32_t>(n);
        }
      }
      auto duration = [&](const char* key, std::chrono::microseconds& out) {
        if (auto x = o.Get(key); x.IsDefined()) {
          if (r.Duration(x, o.Where(key), out) && out <= std::chrono::microseconds(0))
            r.Error(x, o.Where(key) + ": must be above 0s");
        }
      };
      duration("within", b.within);
      duration("cooldown", b.cooldown);
      duration("max_cooldown", b.max_cooldown);
      if (auto x = o.Get("statuses"); x.IsDefined()) r.Statuses(x, o.Where("statuses"), b.statuses);
      if (auto x = o.Get("shared"); x.IsDefined()) {
        const YAML::Node state = top.Get("state");
        const bool redis = state.IsMap() && static_cast<const YAML::Node&>(state)["redis"];
        if (r.Bool(x, o.Where("shared"), b.shared) && b.shared && !redis) {
          r.Error(x, o.Where("shared") + ": needs state.redis (the Redis the instances share)");
        }
      }
      if (b.max_cooldown < b.cooldown)
        r.Error(v, "blackhole.max_cooldown: must be at least cooldown");
      o.Finish();
      cfg.blackhole = std::move(b);
    }
  }
  if (auto v = top.Get("adaptive_concurrency"); v.IsDefined()) {
    if (!v.IsMap()) {
      r.Error(v, "adaptive_concurrency: the policy's settings, e.g. {max_limit: 2000} (or {})");
    } else {
      cfg.adaptive_concurrency = GateSpec{r.OriginOf(v), "adaptive_concurrency", v};
    }
  }
  if (auto v = top.Get("busy_poll"); v.IsDefined()) {
    if (r.Duration(v, "busy_poll", cfg.busy_poll) && cfg.busy_poll > std::chrono::milliseconds(1))
      r.Error(v, "busy_poll: at most 1ms (0s turns polling off)");
  }
  if (auto v = top.Get("request_id_header"); v.IsDefined()) {
    if (r.String(v, "request_id_header", cfg.request_id_header)) {
      if (!IsHeaderName(cfg.request_id_header))
        r.Error(v, "request_id_header: not a valid header name");
      cfg.request_id_header = ToLower(cfg.request_id_header);
    }
  }
  if (auto v = top.Get("via"); v.IsDefined()) {
    if (r.String(v, "via", cfg.via) && !IsHeaderValue(cfg.via))
      r.Error(v, "via: value has control characters");
  }
  if (auto v = top.Get("listeners"); v.IsDefined()) {
    if (!v.IsSequence())
      r.Error(v, "listeners: expected a list");
    else
      for (std::size_t i = 0; i < v.size(); ++i) ReadListener(r, v[i], i, cfg);
  }
  if (cfg.listeners.empty()) r.Error(root, "listeners: at least one listener is required");
  if (auto v = top.Get("upstreams"); v.IsDefined()) {
    if (!v.IsMap()) {
      r.Error(v, "upstreams: expected a mapping of name to upstream");
    } else {
      for (auto it = v.begin(); it != v.end(); ++it) {
        std::string name;
        if (r.String(it->first, "upstreams", name)) ReadUpstream(r, name, it->second, cfg);
      }
    }
  }
  if (auto v = top.Get("routes"); v.IsDefined()) {
    if (!v.IsSequence())
      r.Error(v, "routes: expected a list");
    else
      for (std::size_t i = 0; i < v.size(); ++i) ReadRoute(r, v[i], i, cfg);
  }
  for (const auto& route : cfg.routes) {
    if (!route.upstream.empty() && cfg.upstreams.count(route.upstream) == 0) {
      r.ErrorAtLine(route.origin.line,
                    fmt::format("route '{}': upstream '{}' is not defined under upstreams",
                                route.name, route.upstream));
      continue;
    }
    auto up = cfg.upstreams.find(route.upstream);
    if (up == cfg.upstreams.end()) continue;  // no upstream named (reported elsewhere)
    const Upstream& u = up->second;
    if (!route.fallback_upstream.empty()) {
      auto fb = cfg.upstreams.find(route.fallback_upstream);
      if (fb == cfg.upstreams.end()) {
        r.ErrorAtLine(route.origin.line,
                      fmt::format("route '{}': fallback_upstream '{}' is not defined under "
                                  "upstreams",
                                  route.name, route.fallback_upstream));
      } else if (fb->second.protocol != u.protocol) {
        r.ErrorAtLine(route.origin.line,
                      fmt::format("route '{}': fallback_upstream '{}' speaks another protocol "
                                  "than upstream '{}'; give both the same `protocol`",
                                  route.name, route.fallback_upstream, route.upstream));
      } else if (route.fallback_upstream == route.upstream) {
        r.ErrorAtLine(route.origin.line,
                      fmt::format("route '{}': fallback_upstream is its own upstream", route.name));
      }
    }
    if (route.websocket.enabled && u.protocol == UpstreamProtocol::kHttp2) {
      r.ErrorAtLine(route.origin.line,
                    fmt::format("route '{}': websocket needs an HTTP/1.1 upstream, and upstream "
                                "'{}' (line {}) has protocol: h2; route WebSocket traffic to an "
                                "upstream with protocol: http1",
                                route.name, route.upstream, u.protocol_line));
    }
  }
  if (auto v = top.Get("access_log"); v.IsDefined()) {
    YamlObject a(r, v, "access_log");
    if (a.ok()) {
      if (auto x = a.Get("enabled"); x.IsDefined())
        r.Bool(x, "access_log.enabled", cfg.access_log.enabled);
      if (auto x = a.Get("path"); x.IsDefined())
        r.String(x, "access_log.path", cfg.access_log.path);
      a.Finish();
    }
  }
  if (auto v = top.Get("admin"); v.IsDefined()) {
    YamlObject a(r, v, "admin");
    if (a.ok()) {
      if (auto x = a.Get("enabled"); x.IsDefined()) r.Bool(x, "admin.enabled", cfg.admin.enabled);
      if (auto x = a.Get("address"); x.IsDefined()) {
        if (r.String(x, "admin.address", cfg.admin.address) &&
            !SplitHostPort(cfg.admin.address, cfg.admin.host, cfg.admin.port)) {
          r.Error(x, fmt::format("admin.address: '{}' is not host:port", cfg.admin.address));
        }
      }
      a.Finish();
    }
  }
  if (auto v = top.Get("state"); v.IsDefined()) ReadState(r, v, cfg.state);
  top.Finish();
}

}  // namespace

std::string ConfigError::ToString() const {
  return line > 0 ? fmt::format("{}:{}: {}", file, line, message)
                  : fmt::format("{}: {}", file, message);
}

bool SplitHostPort(std::string_view s, std::string& host, std::uint16_t& port) {
  std::string_view h, p;
  if (s.starts_with("[")) {
    auto close = s.find("]:");
    if (close == std::string_view::npos) return false;
    h = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || s.find(':') != colon) return false;
    h = s.substr(0, colon);
    p = s.substr(colon + 1);
  }
  if (h.empty() || p.empty() || p.size() > 5) return false;
  unsigned v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return false;
  host = std::string(h);
  port = static_cast<std::uint16_t>(v);
  return true;
}

LoadResult LoadConfigText(const std::string& text, const std::string& file_name) {
  LoadResult result;
  YamlReader reader(file_name, result.errors);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {  // yaml-cpp reports syntax errors by exception only
    result.errors.push_back(
        {file_name, e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML syntax: " + e.msg});
    return result;
  }
  Config cfg;
  cfg.file = file_name;
  ReadTop(reader, root, cfg);
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

LoadResult LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult result;
    result.errors.push_back({path, 0, "cannot read the file (does it exist, and is it readable?)"});
    return result;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadConfigText(ss.str(), path);
}

}  // namespace rampart::config
