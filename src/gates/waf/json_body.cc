// JSON request bodies with ModSecurity v3's argument naming, parsed with simdjson's On-Demand
// API (error codes only, no exceptions).
//
// v3 streams the body through YAJL and names each scalar from a stack of open containers
// (JSON::addArgument): an object contributes "<its name>." and an array
// "<its name>.array_<index>", where a container's name is "json" at the top level, its key
// inside an object ("empty-key" for "") and "" inside an array. We keep the same names with one
// path string and, per open container, the length of its prefix in that string. The walk is
// iterative (an explicit stack), so a deeply nested body cannot overflow the thread's stack.
//
// On-Demand validates structure and strings as it goes but parses numbers and literals only on
// request; we check those tokens ourselves, which lets numbers keep their exact text as YAJL
// hands it to v3 (simdjson's DOM rejects integers beyond 64 bits, YAJL/v3 accept them).
#include "gates/waf/json_body.h"

#include <simdjson.h>

#include <new>
#include <string>
#include <utility>
#include <vector>

namespace rampart::waf {
namespace {

namespace od = simdjson::ondemand;

// What v3 reports when the depth limit stops YAJL: YAJL's message for a callback that cancelled
// the parse, followed by v3's json_depth_limit_exceeded_msg.
constexpr std::string_view kDepthError =
    "parse error: client cancelled parse via callback return value\n. Parsing depth limit "
    "exceeded";
// What v3 reports when SecArgumentsLimit makes addArgument fail (the same YAJL cancellation).
constexpr std::string_view kArgsLimitError =
    "parse error: client cancelled parse via callback return value\n";

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimTrailingSpace(std::string_view s) {
  while (!s.empty() && IsJsonSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? — what YAJL's lexer accepts. Any
// length: like YAJL (through v3's yajl_number callback) we never convert the number.
bool IsJsonNumber(std::string_view s) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < n && IsDigit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t start = i;
    while (i < n && IsDigit(s[i])) ++i;
    if (i == start) return false;
  }
  return i == n;
}

class Flattener {
 public:
  Flattener(std::vector<Arg>& out, const JsonLimits& limits, std::size_t body_size)
      : out_(out),
        max_depth_(limits.max_depth < 1 ? 1 : static_cast<std::size_t>(limits.max_depth)),
        max_args_(limits.max_args),
        budget_(limits.max_output_bytes != 0 ? limits.max_output_bytes
                                             : 16 * body_size + (std::size_t{1} << 20)) {}

  // Walks the whole document; on failure returns false with error_ set.
  bool Run(od::document& doc, std::string_view text) {
    od::json_type type;
    if (Failed(doc.type().get(type))) return false;
    path_ = "json";
    if (type != od::json_type::array && type != od::json_type::object) {
      return RootScalar(doc, type, text);
    }
    Frame root;
    root.path_len = path_.size();
    root.is_array = type == od::json_type::array;
    if (root.is_array) {
      od::array a;
      if (Failed(doc.get_array().get(a)) || Failed(a.begin().get(root.ait)) ||
          Failed(a.end().get(root.aend))) {
        return false;
      }
    } else {
      od::object o;
      if (Failed(doc.get_object().get(o)) || Failed(o.begin().get(root.oit)) ||
          Failed(o.end().get(root.oend))) {
        return false;
      }
    }
    stack_.push_back(root);
    if (!Walk()) return false;
    // The root container is closed; only whitespace may follow it. On-Demand reports
    // OUT_OF_BOUNDS when nothing does and a location when a token does.
    const char* location = nullptr;
    const simdjson::error_code e = doc.current_location().get(location);
    if (e == simdjson::OUT_OF_BOUNDS) return true;
    if (e == simdjson::SUCCESS) {
      error_ = "trailing content after the JSON text";
      return false;
    }
    return !Failed(e);
  }

  const std::string& error() const { return error_; }

 private:
  struct Frame {
    bool is_array = false;
    bool advance = false;  // a child container was entered: step past it once it is closed
    std::size_t path_len = 0;
    std::size_t index = 0;
    od::array_iterator ait, aend;
    od::object_iterator oit, oend;
  };

  bool Failed(simdjson::error_code e) {
    if (e == simdjson::SUCCESS) return false;
    if (error_.empty()) error_ = simdjson::error_message(e);
    return true;
  }

  bool Fail(std::string_view message) {
    if (error_.empty()) error_ = message;
    return false;
  }

  bool Emit(std::string_view value) {
    // v3: addArgument fails once SecArgumentsLimit is reached, and that cancels the parse.
    if (max_args_ != 0 && emitted_ >= max_args_) return Fail(kArgsLimitError);
    const std::size_t cost = path_.size() + value.size();
    if (cost > budget_) {
      return Fail("JSON arguments exceed the output limit (nesting too deep or names too long)");
    }
    budget_ -= cost;
    out_.push_back(Arg{path_, std::string(value)});
    ++emitted_;
    return true;
  }

  // The document is a lone string, number or literal: v3 names it "json". The token must be the
  // last one (raw_json_token runs up to the next token or the end of the input).
  bool RootScalar(od::document& doc, od::json_type type, std::string_view text) {
    std::string_view raw;
    if (Failed(doc.raw_json_token().get(raw))) return false;
    if (raw.data() + raw.size() != text.data() + text.size()) {
      return Fail("trailing content after the JSON text");
    }
    raw = TrimTrailingSpace(raw);
    if (type == od::json_type::string) {
      std::string_view s;
      if (Failed(doc.get_string().get(s))) return false;
      return Emit(s);
    }
    return Scalar(type, raw);
  }

  // A number, boolean or null token, checked here because On-Demand does not look at it.
  bool Scalar(od::json_type type, std::string_view raw) {
    switch (type) {
      case od::json_type::number:
        if (!IsJsonNumber(raw)) return Fail("invalid number");
        return Emit(raw);
      case od::json_type::boolean:
        if (raw != "true" && raw != "false") return Fail("invalid literal");
        return Emit(raw);
      case od::json_type::null:
        if (raw != "null") return Fail("invalid literal");
        return Emit("");  // v3's yajl_null callback adds an empty value
      default:
        return Fail("unexpected token");
    }
  }

  // path_ holds the element's full name. Emits a scalar, or opens a container (which the caller
  // has already marked to be stepped over once it is closed).
  bool Value(od::value v) {
    od::json_type type;
    if (Failed(v.type().get(type))) return false;
    if (type == od::json_type::string) {
      std::string_view s;
      if (Failed(v.get_string().get(s))) return false;
      return Emit(s);
    }
    if (type != od::json_type::array && type != od::json_type::object) {
      return Scalar(type, TrimTrailingSpace(v.raw_json_token()));
    }
    // v3 counts open containers and fails once one more opens than the limit allows.
    if (stack_.size() + 1 > max_depth_) return Fail(kDepthError);
    Frame f;
    f.path_len = path_.size();
    f.is_array = type == od::json_type::array;
    if (f.is_array) {
      od::array a;
      if (Failed(v.get_array().get(a)) || Failed(a.begin().get(f.ait)) ||
          Failed(a.end().get(f.aend))) {
        return false;
      }
    } else {
      od::object o;
      if (Failed(v.get_object().get(o)) || Failed(o.begin().get(f.oit)) ||
          Failed(o.end().get(f.oend))) {
        return false;
      }
    }
    stack_.push_back(f);
    return true;
  }

  bool Walk() {
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.advance) {
        f.advance = false;
        if (f.is_array) {
          ++f.ait;
        } else {
          ++f.oit;
        }
      }
      od::value child;
      if (f.is_array) {
        if (!(f.ait != f.aend)) {
          stack_.pop_back();
          continue;
        }
        if (Failed((*f.ait).get(child))) return false;
        path_.resize(f.path_len);
        path_ += ".array_";
        path_ += std::to_string(f.index++);
      } else {
        if (!(f.oit != f.oend)) {
          stack_.pop_back();
          continue;
        }
        od::field field;
        if (Failed((*f.oit).get(field))) return false;
        std::string_view key;
        if (Failed(field.unescaped_key().get(key))) return false;
        path_.resize(f.path_len);
        path_ += '.';
        // v3's getCurrentKey: an empty key inside an object is named "empty-key".
        path_ += key.empty() ? std::string_view("empty-key") : key;
        child = field.value();
      }
      // Mark before Value(): opening a child container pushes onto stack_, invalidating `f`.
      f.advance = true;
      if (!Value(child)) return false;
    }
    return true;
  }

  std::vector<Arg>& out_;
  const std::size_t max_depth_;
  const std::size_t max_args_;
  std::size_t budget_;
  std::size_t emitted_ = 0;
  std::string path_;
  std::vector<Frame> stack_;
  std::string error_;
};

}  // namespace

bool ParseJsonBody(std::string_view body, std::vector<Arg>& out, std::string* error,
                   const JsonLimits& limits) {
  // v3 (issue #1822): an empty body is not a JSON error; any other byte count must parse.
  if (body.empty()) return true;
  try {
    const simdjson::padded_string padded(body.data(), body.size());
    if (padded.data() == nullptr) {
      if (error != nullptr) *error = "out of memory";
      return false;
    }
    od::parser parser;
    od::document doc;
    Flattener flattener(out, limits, body.size());
    const simdjson::error_code e = parser.iterate(padded).get(doc);
    const bool ok = e == simdjson::SUCCESS &&
                    flattener.Run(doc, std::string_view(padded.data(), padded.size()));
    if (!ok && error != nullptr) {
      *error = e != simdjson::SUCCESS ? std::string(simdjson::error_message(e)) : flattener.error();
    }
    return ok;
  } catch (const std::bad_alloc&) {
    if (error != nullptr) *error = "out of memory";
    return false;
  }
}

}  // namespace rampart::waf
