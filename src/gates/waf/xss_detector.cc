#include "gates/waf/xss_detector.h"

#include <cstddef>
#include <cstdint>

namespace rampart::waf {
namespace {

// Tag and attribute names are compared on their first bytes only (real ones are short).
constexpr std::size_t kNameBuf = 24;

bool IsHtmlSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}
bool IsAsciiLetter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexValue(unsigned char c) {
  return IsDigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : c - 'A' + 10;
}
char Lower(unsigned char c) { return static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c); }

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// A lower-cased name without its namespace prefix (x:script -> script, xlink:href -> href),
// truncated to kNameBuf bytes; `full` is the length before truncation.
struct Name {
  char buf[kNameBuf];
  std::size_t len = 0;
  std::size_t full = 0;
  bool letters = true;  // the whole name is ASCII letters

  void Set(std::string_view raw) {
    const std::size_t colon = raw.rfind(':');
    if (colon != std::string_view::npos && colon + 1 < raw.size()) raw = raw.substr(colon + 1);
    full = raw.size();
    len = 0;
    letters = true;
    for (const char c : raw) {
      letters = letters && IsAsciiLetter(static_cast<unsigned char>(c));
      if (len < kNameBuf) buf[len++] = Lower(static_cast<unsigned char>(c));
    }
  }
  std::string_view view() const { return {buf, len}; }
  bool Is(std::string_view w) const { return full == w.size() && view() == w; }
};

template <std::size_t N>
bool NameIn(const Name& n, const char* const (&list)[N]) {
  for (const char* w : list) {
    if (n.Is(w)) return true;
  }
  return false;
}

// Elements that load code or a document, or change where the page's scripts and links point,
// and the attributes that make them do it: <iframe> alone is an empty frame (and the
// <Object> in C++'s Local<Object> is an empty object), <iframe src=...> loads. <script> runs
// its body and is dangerous on its own. `nullptr`: any attribute.
constexpr struct {
  const char* tag;
  const char* attributes[4];
} kLoaderTags[] = {
    {"applet", {"code", "codebase", "archive", "object"}},
    {"base", {"href"}},
    {"embed", {"src", "code"}},
    {"frame", {"src"}},
    {"iframe", {"src", "srcdoc"}},
    {"import", {nullptr}},  // <import namespace=... implementation=x.htc> (IE behaviors)
    {"isindex", {nullptr}},
    {"link", {"href"}},  // style sheets (expression(), behaviors) and HTML imports
    {"object", {"data", "classid", "codebase"}},
    {"vmlframe", {"src"}},
    {"xml", {nullptr}},  // IE data islands
};

// Attributes whose value is a URL the browser loads or navigates to.
constexpr const char* kUrlAttributes[] = {"action", "background", "code", "codebase", "data",
                                          "dynsrc", "formaction", "from", "href",     "lowsrc",
                                          "poster", "src",        "to",   "values",   "by"};

// Schemes that run script when navigated to or loaded.
constexpr const char* kScriptSchemes[] = {"javascript", "vbscript", "livescript", "mocha"};

// data: types a browser renders as a document or runs.
constexpr const char* kActiveDataTypes[] = {
    "text/html",       "image/svg+xml",   "application/xhtml+xml",  "text/xml",
    "application/xml", "text/javascript", "application/javascript", "application/x-javascript",
    "text/vbscript",   "text/ecmascript"};

// What a browser sees in an attribute value: character references decoded one at a time,
// without a buffer. Next() returns the next character (code points above 0x7f as 0x80) and
// sets `decoded` when it came from a reference.
class DecodedChars {
 public:
  explicit DecodedChars(std::string_view s) : s_(s) {}

  bool Done() const { return i_ >= s_.size(); }

  unsigned char Next() {
    decoded = false;
    const unsigned char c = static_cast<unsigned char>(s_[i_]);
    if (c == '&') {
      std::size_t len = 0;
      const unsigned int cp = Reference(i_, len);
      if (len > 0) {
        i_ += len;
        decoded = true;
        return cp > 0x7f ? 0x80 : static_cast<unsigned char>(cp);
      }
    }
    ++i_;
    return c;
  }

  bool decoded = false;

 private:
  // The character reference at `at` (&#106; &#x6A &colon;), its length in `len` (0: none).
  unsigned int Reference(std::size_t at, std::size_t& len) const {
    std::size_t j = at + 1;
    if (j < s_.size() && s_[j] == '#') {
      ++j;
      const bool hex = j < s_.size() && (s_[j] == 'x' || s_[j] == 'X');
      if (hex) ++j;
      const std::size_t digits = j;
      unsigned int cp = 0;
      while (j < s_.size() && (hex ? IsHex(static_cast<unsigned char>(s_[j]))
                                   : IsDigit(static_cast<unsigned char>(s_[j])))) {
        const unsigned int d = hex ? HexValue(static_cast<unsigned char>(s_[j]))
                                   : static_cast<unsigned int>(s_[j] - '0');
        cp = cp > 0x10ffff ? cp : cp * (hex ? 16 : 10) + d;  // saturates: &#0000106 is 'j'
        ++j;
      }
      if (j == digits) return 0;
      if (j < s_.size() && s_[j] == ';') ++j;
      len = j - at;
      return cp;
    }
    // The named references that spell schemes and CSS (&colon; &Tab; &NewLine; &lpar; ...).
    static constexpr struct {
      const char* name;
      unsigned char c;
    } kNamed[] = {{"colon;", ':'},  {"tab;", '\t'},  {"newline;", '\n'}, {"lpar;", '('},
                  {"rpar;", ')'},   {"sol;", '/'},   {"bsol;", '\\'},    {"quot;", '"'},
                  {"apos;", '\''},  {"amp;", '&'},   {"lt;", '<'},       {"gt;", '>'},
                  {"period;", '.'}, {"comma;", ','}, {"semi;", ';'},     {"equals;", '='},
                  {"excl;", '!'},   {"num;", '#'},   {"plus;", '+'},     {"quot", '"'},
                  {"amp", '&'},     {"lt", '<'},     {"gt", '>'}};
    const std::string_view rest = s_.substr(at + 1);
    for (const auto& e : kNamed) {
      if (StartsWithIgnoreCase(rest, e.name)) {
        len = 1 + std::string_view(e.name).size();
        return e.c;
      }
    }
    return 0;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

// Does a URL (an attribute value, entity-encoded as in HTML) run script when followed or
// loaded? Browsers drop leading spaces and control characters and ignore tabs and newlines
// anywhere, so "  jav&#x09;ascript:" is javascript:. `plain_ok`: a javascript: URL spelled
// plainly counts even without code after it (in a tag the attacker wrote, any such URL is the
// attack; as a bare URL field, "JavaScript: The Good Parts" is a book).
bool ScriptUrl(std::string_view value, bool plain_ok) {
  DecodedChars in(value);
  char scheme[16];
  std::size_t len = 0;
  bool started = false;
  bool obfuscated = false;
  bool colon = false;
  while (!in.Done() && !colon) {
    const unsigned char c = in.Next();
    if (c <= 0x20 && !started) {
      obfuscated = obfuscated || in.decoded || (c != ' ' && c != '\n' && c != '\r');
      continue;
    }
    if (c < 0x20 || c == 0x7f) {  // tab, newline, NUL, ... inside the scheme
      obfuscated = true;
      continue;
    }
    started = true;
    obfuscated = obfuscated || in.decoded;
    if (c == ':') {
      colon = true;
    } else if (!IsAsciiLetter(c) || len == sizeof scheme) {
      return false;
    } else {
      scheme[len++] = Lower(c);
    }
  }
  if (!colon) return false;
  const std::string_view name(scheme, len);
  for (const char* s : kScriptSchemes) {
    if (name != s) continue;
    if (plain_ok || obfuscated) return true;
    // A bare URL field: something that reads as code has to follow (alert(1), void(0),
    // /*...*/, `...`, %0a..., x=...).
    while (!in.Done()) {
      const unsigned char c = in.Next();
      if (c == '(' || c == '`' || c == '=' || c == '/' || c == ';' || c == '[' || c == '\\' ||
          c == '{' || c == '\'' || c == '"' || c == '%' || c == '.') {
        return true;
      }
    }
    return false;
  }
  if (name != "data") return false;
  // data:text/html,<script>...  data:image/svg+xml;base64,...
  char type[32];
  std::size_t tlen = 0;
  while (!in.Done()) {
    const unsigned char c = in.Next();
    if (c == ',' || c == ';') break;
    if (c <= 0x20) continue;
    if (tlen == sizeof type) return false;
    type[tlen++] = Lower(c);
  }
  const std::string_view t(type, tlen);
  for (const char* s : kActiveDataTypes) {
    if (t == s) return true;
  }
  return false;
}

// CSS that runs script or loads code: IE's expression() and behavior, Mozilla's -moz-binding,
// javascript: URLs, @import. Read through CSS escapes (\65 is e), comments and spaces, and
// character references (in style attributes), with a small window of the last characters.
bool DangerousCss(std::string_view css) {
  static constexpr std::string_view kPatterns[] = {
      "expression(",  "javascript:", "vbscript:",  "livescript:",
      "-moz-binding", "behavior:",   "behaviour:", "@import"};
  char window[16] = {};
  std::size_t count = 0;
  auto push = [&](unsigned char c) {
    const char lower = Lower(c);
    window[count % sizeof window] = lower;
    ++count;
    for (const std::string_view pat : kPatterns) {
      if (pat.back() != lower || count < pat.size()) continue;
      bool match = true;
      for (std::size_t k = 0; k < pat.size() && match; ++k) {
        match = window[(count - pat.size() + k) % sizeof window] == pat[k];
      }
      if (match) return true;
    }
    return false;
  };
  DecodedChars in(css);
  bool in_comment = false;
  unsigned char prev = 0;
  int pending = -1;  // a character read ahead (the one that ended a hex escape)
  while (pending >= 0 || !in.Done()) {
    unsigned char c;
    if (pending >= 0) {
      c = static_cast<unsigned char>(pending);
      pending = -1;
    } else {
      c = in.Next();
    }
    if (in_comment) {
      if (prev == '*' && c == '/') in_comment = false;
      prev = c;
      continue;
    }
    if (c == '*' && prev == '/') {
      in_comment = true;
      --count;  // the "/" was not content
      prev = 0;
      continue;
    }
    prev = c;
    if (c == '\\') {
      // \HHHHHH (and one space after it) is a code point; \x is x; \ newline is nothing.
      unsigned int cp = 0;
      int digits = 0;
      while (!in.Done()) {
        const unsigned char h = in.Next();
        if (digits < 6 && IsHex(h)) {
          cp = cp * 16 + static_cast<unsigned int>(HexValue(h));
          ++digits;
          continue;
        }
        if (digits == 0) {
          if (h != '\n' && push(h)) return true;
        } else if (!IsHtmlSpace(h)) {
          pending = h;
        }
        break;
      }
      if (digits > 0 && cp > 0 && cp < 0x80 && push(static_cast<unsigned char>(cp))) return true;
      prev = 0;
      continue;
    }
    if (c <= 0x20) continue;  // spaces and control characters do not separate these words
    if (push(c)) return true;
  }
  return false;
}

enum class Start { kText, kUnquotedValue, kSingleQuotedValue, kDoubleQuotedValue };

// An HTML tokenizer reduced to what decides XSS, run from one of the starting states.
class Scanner {
 public:
  explicit Scanner(std::string_view in) : in_(in) {}

  bool Run(Start start) {
    switch (start) {
      case Start::kText:
        break;
      case Start::kUnquotedValue: {
        // The rest of an attribute value: up to the space or ">" that ends it, then more
        // attributes of the same tag.
        std::size_t i = 0;
        while (i < in_.size() && !IsHtmlSpace(At(i)) && At(i) != '>') ++i;
        if (i == in_.size()) return false;
        pos_ = i;
        if (Attributes(nullptr)) return true;
        break;
      }
      case Start::kSingleQuotedValue:
      case Start::kDoubleQuotedValue: {
        const char q = start == Start::kSingleQuotedValue ? '\'' : '"';
        const std::size_t end = in_.find(q);
        if (end == std::string_view::npos) return false;  // never leaves the value
        pos_ = end + 1;
        if (Attributes(nullptr)) return true;
        break;
      }
    }
    return Text();
  }

 private:
  unsigned char At(std::size_t i) const {
    return i < in_.size() ? static_cast<unsigned char>(in_[i]) : 0;
  }

  // Text up to the end: tags, comments and declarations in it.
  bool Text() {
    while (pos_ < in_.size()) {
      const std::size_t lt = in_.find('<', pos_);
      if (lt == std::string_view::npos) return false;
      pos_ = lt + 1;
      const unsigned char c = At(pos_);
      if (IsAsciiLetter(c)) {
        if (StartTag()) return true;
      } else if (c == '/') {
        // An end tag (attributes on it do nothing) or a bogus comment: skip to ">".
        const std::size_t gt = in_.find('>', pos_);
        if (gt == std::string_view::npos) return false;
        pos_ = gt + 1;
      } else if (c == '!') {
        if (MarkupDeclaration()) return true;
      } else if (c == '?') {
        // <?import implementation="x.htc"> loads behaviors (IE); <?xml-stylesheet href=...>.
        const std::string_view rest = in_.substr(pos_ + 1);
        if (StartsWithIgnoreCase(rest, "import") || StartsWithIgnoreCase(rest, "xml-stylesheet")) {
          return true;
        }
        const std::size_t gt = in_.find('>', pos_);
        if (gt == std::string_view::npos) return false;
        pos_ = gt + 1;
      }
      // Anything else ("1 < 2", "<3", "< script") is text.
    }
    return false;
  }

  // After "<!": comments, CDATA, doctype and bogus comments.
  bool MarkupDeclaration() {
    const std::string_view rest = in_.substr(pos_ + 1);
    if (rest.starts_with("--")) {
      // IE's conditional comments (<!--[if IE]><script>...) run their body.
      if (StartsWithIgnoreCase(rest.substr(2), "[if")) return true;
      const std::size_t body = pos_ + 3;
      if (At(body) == '>' || (At(body) == '-' && At(body + 1) == '>')) {  // <!--> and <!--->
        pos_ = body + (At(body) == '>' ? 1 : 2);
        return false;
      }
      const std::size_t end = in_.find("--", body);
      std::size_t close = end;
      // "-->" or "--!>" ends the comment; a "--" without them does not.
      while (close != std::string_view::npos) {
        if (At(close + 2) == '>') {
          pos_ = close + 3;
          return false;
        }
        if (At(close + 2) == '!' && At(close + 3) == '>') {
          pos_ = close + 4;
          return false;
        }
        close = in_.find("--", close + 1);
      }
      pos_ = in_.size();
      return false;
    }
    if (StartsWithIgnoreCase(rest, "[if")) return true;  // <![if !IE]>
    if (rest.starts_with("[CDATA[")) {
      // In SVG and MathML the section ends at "]]>" and what follows is markup again.
      const std::size_t end = in_.find("]]>", pos_);
      pos_ = end == std::string_view::npos ? in_.size() : end + 3;
      return false;
    }
    const std::size_t gt = in_.find('>', pos_);
    pos_ = gt == std::string_view::npos ? in_.size() : gt + 1;
    return false;
  }

  // At the first letter of a tag name.
  bool StartTag() {
    const std::size_t start = pos_;
    while (pos_ < in_.size() && !IsHtmlSpace(At(pos_)) && At(pos_) != '/' && At(pos_) != '>' &&
           At(pos_) != '<') {
      ++pos_;
    }
    Name tag;
    tag.Set(in_.substr(start, pos_ - start));
    if (tag.Is("script")) return true;
    // "<scr<script>ipt>": browsers make one odd tag of it, but a filter that strips the inner
    // tag leaves <script>; read the inner one as a tag too.
    if (At(pos_) == '<') return false;
    if (Attributes(&tag)) return true;
    if (tag.Is("style")) return StyleElement();
    return false;
  }

  // The body of <style>...</style>.
  bool StyleElement() {
    std::size_t end = pos_;
    while (true) {
      end = in_.find("</", end);
      if (end == std::string_view::npos || StartsWithIgnoreCase(in_.substr(end + 2), "style")) {
        break;
      }
      end += 2;
    }
    const std::size_t stop = end == std::string_view::npos ? in_.size() : end;
    if (DangerousCss(in_.substr(pos_, stop - pos_))) return true;
    pos_ = stop;
    return false;
  }

  // Is `name` one of the attributes that make `tag` load something?
  static bool Loads(const Name& tag, const Name& name) {
    for (const auto& l : kLoaderTags) {
      if (!tag.Is(l.tag)) continue;
      for (const char* a : l.attributes) {
        if (a == nullptr || name.Is(a)) return true;
      }
    }
    return false;
  }

  // <meta http-equiv=refresh|set-cookie>, or a UTF-7 charset (its +ADw- is "<").
  static bool DangerousMeta(const Name& name, std::string_view value) {
    if (name.Is("http-equiv")) {
      while (!value.empty() && IsHtmlSpace(static_cast<unsigned char>(value.front()))) {
        value.remove_prefix(1);
      }
      return StartsWithIgnoreCase(value, "refresh") || StartsWithIgnoreCase(value, "set-cookie");
    }
    if (name.Is("charset") || name.Is("content")) {
      for (std::size_t k = 0; k + 4 <= value.size(); ++k) {
        const std::string_view rest = value.substr(k);
        if (StartsWithIgnoreCase(rest, "utf-7") || StartsWithIgnoreCase(rest, "utf7")) {
          return true;
        }
      }
    }
    return false;
  }

  // The attributes of a tag, up to its ">". `tag` null: a tag we entered in the middle of an
  // attribute value (the application's), whose name we do not know.
  bool Attributes(const Name* tag) {
    while (pos_ < in_.size()) {
      const unsigned char c = At(pos_);
      if (IsHtmlSpace(c) || c == '/') {
        ++pos_;
        continue;
      }
      if (c == '>') {
        ++pos_;
        return false;
      }
      // The name runs to a space, "/", ">" or "=" (a first "=" belongs to it).
      const std::size_t name_start = pos_;
      ++pos_;
      while (pos_ < in_.size() && !IsHtmlSpace(At(pos_)) && At(pos_) != '/' && At(pos_) != '>' &&
             At(pos_) != '=') {
        ++pos_;
      }
      Name name;
      name.Set(in_.substr(name_start, pos_ - name_start));
      const bool tight = At(pos_) == '=';  // name=value, no space before the "="
      std::size_t after = pos_;
      while (IsHtmlSpace(At(after))) ++after;
      std::string_view value;
      bool has_value = false;
      bool unquoted = false;
      if (At(after) == '=') {
        has_value = true;
        pos_ = after + 1;
        while (IsHtmlSpace(At(pos_))) ++pos_;
        const unsigned char q = At(pos_);
        if (q == '"' || q == '\'') {
          const std::size_t end = in_.find(static_cast<char>(q), pos_ + 1);
          const std::size_t stop = end == std::string_view::npos ? in_.size() : end;
          value = in_.substr(pos_ + 1, stop - pos_ - 1);
          pos_ = stop == in_.size() ? stop : stop + 1;
        } else {
          const std::size_t vstart = pos_;
          while (pos_ < in_.size() && !IsHtmlSpace(At(pos_)) && At(pos_) != '>') ++pos_;
          value = in_.substr(vstart, pos_ - vstart);
          unquoted = true;
        }
      }
      // In a tag we only guess at ("x onload=..." after an attribute value), a handler has to
      // be written as one: "onerror=", not JavaScript's "const onError = (err) =>".
      if (has_value && (tag != nullptr || tight) && Attribute(name, value, unquoted)) return true;
      if (tag != nullptr && Loads(*tag, name)) return true;
      if (tag != nullptr && has_value && tag->Is("meta") && DangerousMeta(name, value)) {
        return true;
      }
    }
    return false;
  }

  // One attribute with a value.
  static bool Attribute(const Name& name, std::string_view value, bool unquoted) {
    const std::string_view n = name.view();
    // Event handlers: on + at least three letters (onload, oncut, onbeforehellfreezes), and
    // nothing else in the name ("one", "only" are not handlers; neither is onclick":"x").
    if (name.full >= 5 && n.starts_with("on") && name.letters) return true;
    if (NameIn(name, kUrlAttributes) && ScriptUrl(value, true)) return true;
    if (name.Is("style") && DangerousCss(value)) return true;
    // <meta http-equiv=refresh content="0;url=javascript:...">
    if (name.Is("content")) {
      for (std::size_t k = 0; k + 4 <= value.size(); ++k) {
        if (StartsWithIgnoreCase(value.substr(k), "url=") && ScriptUrl(value.substr(k + 4), true)) {
          return true;
        }
      }
    }
    // SVG <set attributeName="onmouseover" to="..."> / <animate attributeName=href ...>
    if (name.Is("attributename") && StartsWithIgnoreCase(value, "on")) return true;
    // <img src= onerror=alert(1)>: old parsers took the space as ending an empty value.
    if (unquoted && value.size() > 3 && StartsWithIgnoreCase(value, "on")) {
      std::size_t k = 2;
      while (k < value.size() && IsAsciiLetter(static_cast<unsigned char>(value[k]))) ++k;
      if (k >= 5 && k < value.size() && value[k] == '=') return true;
    }
    return false;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace

bool DetectXss(std::string_view input) noexcept {
  // As a URL field (href="..."): only a script URL spelled with code after it, or obfuscated.
  if (ScriptUrl(input, false)) return true;
  for (const Start s : {Start::kText, Start::kUnquotedValue, Start::kSingleQuotedValue,
                        Start::kDoubleQuotedValue}) {
    if (Scanner(input).Run(s)) return true;
  }
  return false;
}

}  // namespace rampart::waf
