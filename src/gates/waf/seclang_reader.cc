#include "gates/waf/seclang_reader.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rampart::waf {

namespace {

constexpr int kMaxIncludeDepth = 16;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

bool IEquals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

// Whether `text` ends inside a double-quoted argument (escapes as SplitArgs reads them).
bool InsideQuotes(std::string_view text) {
  bool inside = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && inside && i + 1 < text.size() && text[i + 1] == '"') {
      ++i;
    } else if (text[i] == '"') {
      inside = !inside;
    }
  }
  return inside;
}

// Splits one logical line into arguments. A double-quoted argument runs to the next unescaped
// quote; `\"` inside it stands for a quote and every other backslash is kept (regular
// expressions need them as written). Returns false on an unterminated quote.
bool SplitArgs(std::string_view line, std::vector<std::string>& args) {
  std::size_t i = 0;
  while (true) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i >= line.size()) return true;
    std::string arg;
    if (line[i] == '"' || line[i] == '\'') {
      const char quote = line[i++];
      bool closed = false;
      while (i < line.size()) {
        const char c = line[i];
        if (c == '\\' && i + 1 < line.size() && line[i + 1] == quote) {
          arg.push_back(quote);
          i += 2;
          continue;
        }
        if (c == quote) {
          closed = true;
          ++i;
          break;
        }
        arg.push_back(c);
        ++i;
      }
      if (!closed) return false;
    } else {
      while (i < line.size() && !IsSpace(line[i])) arg.push_back(line[i++]);
    }
    args.push_back(std::move(arg));
  }
}

std::string DirOf(const std::string& file) {
  const auto slash = file.find_last_of('/');
  return slash == std::string::npos ? std::string(".") : file.substr(0, slash);
}

}  // namespace

bool ReadSecLangText(std::string_view text, const std::string& file, std::vector<Directive>& out,
                     std::string& error, bool follow_includes, int depth) {
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    // Gather one logical line: physical lines ending in a backslash continue on the next, with
    // the blanks around the break removed (as ModSecurity v3's scanner does).
    std::string logical;
    const int first_line = line_no + 1;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      std::string_view physical = text.substr(pos, end - pos);
      pos = end + 1;
      ++line_no;
      if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
      if (logical.empty()) {
        std::size_t lead = 0;
        while (lead < physical.size() && IsSpace(physical[lead])) ++lead;
        physical.remove_prefix(lead);
        if (!physical.empty() && physical.front() == '#') break;  // a comment line
      }
      if (!physical.empty() && physical.back() == '\\') {
        physical.remove_suffix(1);
        while (!physical.empty() && IsSpace(physical.back())) physical.remove_suffix(1);
        logical.append(physical);
        // The next line's leading blanks are dropped too. Between arguments the break still
        // separates them; inside a quoted argument it joins the two halves.
        if (!InsideQuotes(logical)) logical.push_back(' ');
        while (pos < text.size() && IsSpace(text[pos])) ++pos;
        continue;
      }
      logical.append(physical);
      break;
    }
    std::size_t lead = 0;
    while (lead < logical.size() && IsSpace(logical[lead])) ++lead;
    if (lead == logical.size() || logical[lead] == '#') continue;
    Directive d;
    d.file = file;
    d.line = first_line;
    std::vector<std::string> words;
    if (!SplitArgs(std::string_view(logical).substr(lead), words)) {
      error = d.Where() + ": a quoted argument is not closed";
      return false;
    }
    d.name = std::move(words.front());
    words.erase(words.begin());
    d.args = std::move(words);
    if (follow_includes && IEquals(d.name, "Include")) {
      if (d.args.size() != 1) {
        error = d.Where() + ": Include takes one path";
        return false;
      }
      if (depth >= kMaxIncludeDepth) {
        error = d.Where() + ": Include nests deeper than 16 files";
        return false;
      }
      std::string target = d.args[0];
      if (target.empty() || target[0] != '/') target = DirOf(file) + "/" + target;
      std::string sub;
      if (!ReadSecLangFiles(target, out, sub, depth + 1)) {
        error = d.Where() + ": " + sub;
        return false;
      }
      continue;
    }
    out.push_back(std::move(d));
  }
  return true;
}

bool ReadSecLangFiles(const std::string& pattern, std::vector<Directive>& out, std::string& error,
                      int depth) {
  std::vector<std::string> files;
  if (pattern.find_first_of("*?[") == std::string::npos) {
    files.push_back(pattern);
  } else {
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) files.emplace_back(g.gl_pathv[i]);
    }
    ::globfree(&g);
    if (files.empty()) {
      error = "no file matches " + pattern;
      return false;
    }
    std::sort(files.begin(), files.end());
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      error = "cannot read " + f;
      return false;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!ReadSecLangText(ss.str(), f, out, error, true, depth)) return false;
  }
  return true;
}

}  // namespace rampart::waf
