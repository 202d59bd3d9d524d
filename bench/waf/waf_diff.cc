// Differential test: rampart's WAF engine against libmodsecurity3 on the same requests, both
// running the same OWASP CRS files at the same paranoia level. For each request: whether each
// blocked it and which rules logged a match; the differences are printed one per line (grep
// DIFF), then totals per request placement and per rule.
//
//   rampart_waf_diff [--crs DIR] [--paranoia N] PAYLOADS.txt...
//   rampart_waf_diff [--crs DIR] [--paranoia N] --records REQUESTS.rec
//
// A payload file holds one payload per line; each is sent in seven places: a query argument, a
// form body, a JSON body, a cookie, the User-Agent, the Referer (these two only when the payload
// has no control bytes) and the path. A records file holds whole requests (as written by
// gotestwaf_requests.py): "REC <label>", "<method> <target>", the header count, that many
// "name: value" lines, the body's length, the body, a newline.
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "corpus.h"
#include "engines.h"

namespace {

using rampart::bench::BenchRequest;
using Ids = std::set<std::int64_t>;

std::string Escaped(std::string_view s, bool (*keep)(unsigned char)) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (keep(c)) {
      out.push_back(ch);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

bool Unreserved(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

bool CookieSafe(unsigned char c) {
  return c > 0x20 && c < 0x7f && c != ';' && c != ',' && c != '%';
}

std::string JsonString(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += {'\\', ch};
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> BrowserHeaders() {
  return {{"Host", "shop.example.com"},
          {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"},
          {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
          {"Accept-Language", "en-US,en;q=0.5"},
          {"Accept-Encoding", "gzip, deflate, br"}};
}

BenchRequest WithBody(std::string target, std::string type, std::string body) {
  BenchRequest r{"POST", std::move(target), BrowserHeaders(), std::move(body)};
  r.headers.emplace_back("Content-Type", std::move(type));
  r.headers.emplace_back("Content-Length", std::to_string(r.body.size()));
  return r;
}

// The payload in each place a request carries user input.
std::vector<std::pair<const char*, BenchRequest>> Placements(const std::string& p) {
  std::vector<std::pair<const char*, BenchRequest>> out;
  out.emplace_back(
      "query", BenchRequest{"GET", "/search?q=" + Escaped(p, Unreserved), BrowserHeaders(), ""});
  out.emplace_back("form", WithBody("/submit", "application/x-www-form-urlencoded",
                                    "q=" + Escaped(p, Unreserved)));
  out.emplace_back("json", WithBody("/api/items", "application/json",
                                    "{\"q\": \"" + JsonString(p) + "\", \"n\": 1}"));
  BenchRequest cookie{"GET", "/account", BrowserHeaders(), ""};
  cookie.headers.emplace_back("Cookie", "session=abc123; q=" + Escaped(p, CookieSafe));
  out.emplace_back("cookie", std::move(cookie));
  bool printable = true;
  for (const char c : p)
    printable = printable && (static_cast<unsigned char>(c) >= 0x20 || c == '\t');
  if (printable) {
    BenchRequest ua{"GET", "/", BrowserHeaders(), ""};
    ua.headers[1].second = p;
    out.emplace_back("ua", std::move(ua));
    BenchRequest referer{"GET", "/", BrowserHeaders(), ""};
    referer.headers.emplace_back("Referer", p);
    out.emplace_back("referer", std::move(referer));
  }
  out.emplace_back("path",
                   BenchRequest{"GET", "/files/" + Escaped(p, Unreserved), BrowserHeaders(), ""});
  return out;
}

std::string Joined(const Ids& ids) {
  std::string out;
  for (const std::int64_t id : ids) {
    if (!out.empty()) out.push_back(' ');
    out += std::to_string(id);
  }
  return out;
}

struct Totals {
  // Per placement (or record label): requests, blocked by rampart, by libmodsecurity3, decided
  // differently, matched different rules.
  std::map<std::string, std::array<long, 5>> per_place;
  std::map<std::int64_t, std::pair<long, long>> per_rule;  // only rampart, only libmodsecurity3
};

void Compare(const BenchRequest& r, const std::string& place, const std::string& label,
             const rampart::waf::RuleSet& set, rampart::bench::ModSecurityEngine& modsec,
             Totals& t) {
  Ids ours, theirs;
  const bool bo = rampart::bench::RunRampart(r, set, &ours);
  const bool bt = rampart::bench::RunModSecurity(r, modsec, &theirs);
  auto& p = t.per_place[place];
  ++p[0];
  p[1] += bo;
  p[2] += bt;
  p[3] += bo != bt;
  p[4] += ours != theirs;
  if (bo == bt && ours == theirs) return;
  Ids only_ours, only_theirs;
  for (const std::int64_t id : ours) {
    if (theirs.count(id) == 0) {
      only_ours.insert(id);
      ++t.per_rule[id].first;
    }
  }
  for (const std::int64_t id : theirs) {
    if (ours.count(id) == 0) {
      only_theirs.insert(id);
      ++t.per_rule[id].second;
    }
  }
  printf("DIFF\t%s\tblocked r=%d m=%d\tonly_r=[%s]\tonly_m=[%s]\tboth=[%s]\t%s\n", place.c_str(),
         bo, bt, Joined(only_ours).c_str(), Joined(only_theirs).c_str(), Joined(ours).c_str(),
         label.c_str());
}

bool ReadRecords(const char* path, const rampart::waf::RuleSet& set,
                 rampart::bench::ModSecurityEngine& modsec, Totals& t) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("REC ", 0) != 0) continue;
    const std::string label = line.substr(4);
    BenchRequest r;
    std::getline(in, line);
    const std::size_t sp = line.find(' ');
    r.method = line.substr(0, sp);
    r.target = sp == std::string::npos ? "/" : line.substr(sp + 1);
    std::getline(in, line);
    const int n = atoi(line.c_str());
    for (int i = 0; i < n && std::getline(in, line); ++i) {
      const std::size_t colon = line.find(": ");
      if (colon != std::string::npos)
        r.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    }
    std::getline(in, line);
    r.body.resize(std::strtoul(line.c_str(), nullptr, 10));
    in.read(r.body.data(), static_cast<std::streamsize>(r.body.size()));
    std::getline(in, line);
    // The label's first two tab-separated fields (test set, placement) name its group.
    const std::size_t tab = label.find('\t');
    const std::string place =
        label.substr(0, tab == std::string::npos ? tab : label.find('\t', tab + 1));
    Compare(r, place, label, set, modsec, t);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string crs = RAMPART_SOURCE_DIR "/rules/crs";
  int paranoia = 1;
  std::vector<const char*> payload_files;
  const char* records = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--crs") && i + 1 < argc) {
      crs = argv[++i];
    } else if (!strcmp(argv[i], "--paranoia") && i + 1 < argc) {
      paranoia = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--records") && i + 1 < argc) {
      records = argv[++i];
    } else {
      payload_files.push_back(argv[i]);
    }
  }
  if (records == nullptr && payload_files.empty()) {
    fprintf(stderr,
            "usage: rampart_waf_diff [--crs DIR] [--paranoia N] (PAYLOADS.txt... | --records "
            "FILE)\n");
    return 2;
  }
  std::string error;
  auto set = rampart::bench::LoadRampartCrs(crs, paranoia, error);
  if (!set) {
    fprintf(stderr, "rampart: %s\n", error.c_str());
    return 1;
  }
  rampart::bench::ModSecurityEngine modsec;
  if (!rampart::bench::LoadModSecurityCrs(crs, paranoia, modsec, error)) {
    fprintf(stderr, "libmodsecurity: %s\n", error.c_str());
    return 1;
  }
  Totals t;
  if (records != nullptr && !ReadRecords(records, *set, modsec, t)) {
    fprintf(stderr, "cannot read %s\n", records);
    return 1;
  }
  for (const char* file : payload_files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      fprintf(stderr, "cannot read %s\n", file);
      return 1;
    }
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      for (const auto& [place, r] : Placements(line)) Compare(r, place, line, *set, modsec, t);
    }
  }
  long total = 0, same = 0;
  printf("%-40s %7s %9s %9s %9s %9s\n", "placement", "n", "blocked_r", "blocked_m", "decision",
         "rules");
  for (const auto& [place, c] : t.per_place) {
    printf("%-40s %7ld %9ld %9ld %9ld %9ld\n", place.c_str(), c[0], c[1], c[2], c[3], c[4]);
    total += c[0];
    same += c[0] - c[4];
  }
  printf("TOTAL %ld requests, %ld with the same rules matched in both (%.2f%%)\n", total, same,
         total > 0 ? 100.0 * static_cast<double>(same) / static_cast<double>(total) : 0.0);
  for (const auto& [id, c] : t.per_rule) {
    printf("RULE %lld only_rampart=%ld only_modsecurity=%ld\n", static_cast<long long>(id), c.first,
           c.second);
  }
  return 0;
}
