// The detectors' test corpora (src/gates/waf/corpus/*.txt): one payload per line, "#" comments
// and blank lines skipped, lines starting "\:" escaped (\n \r \t \0 \xHH). Shared by the
// SQLi and XSS detector tests.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#ifndef RAMPART_SOURCE_DIR
#define RAMPART_SOURCE_DIR "."
#endif

namespace rampart::waf::corpus {

struct Payload {
  int line = 0;
  std::string text;
};

inline int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The corpus format (see the files' headers): "#" comments, blank lines skipped, "\:" lines
// escaped.
inline std::string Unescape(const std::string& line) {
  if (line.rfind("\\:", 0) != 0) return line;
  std::string out;
  for (std::size_t i = 2; i < line.size(); ++i) {
    if (line[i] != '\\' || i + 1 >= line.size()) {
      out += line[i];
      continue;
    }
    const char c = line[++i];
    switch (c) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case '0':
        out += '\0';
        break;
      case 'x':
        if (i + 2 < line.size() && HexDigit(line[i + 1]) >= 0 && HexDigit(line[i + 2]) >= 0) {
          out += static_cast<char>(HexDigit(line[i + 1]) * 16 + HexDigit(line[i + 2]));
          i += 2;
        } else {
          out += "\\x";
        }
        break;
      default:
        out += c;  // \\ and any other escaped character stand for themselves
    }
  }
  return out;
}

inline std::vector<Payload> ReadCorpus(const std::string& name) {
  const std::string path = std::string(RAMPART_SOURCE_DIR) + "/src/gates/waf/corpus/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::vector<Payload> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    out.push_back({n, Unescape(line)});
  }
  return out;
}

}  // namespace rampart::waf::corpus
