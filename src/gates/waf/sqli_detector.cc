#include "gates/waf/sqli_detector.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/strings.h"

namespace rampart::waf {
namespace {

// Tokens kept per reading. The grammar only needs the start of the value (an injection has to
// break out early), but a stacked statement after a short list ("1','2');drop table t") and
// nested calls still fit.
constexpr int kMaxTokens = 48;
// The construct that makes a value an injection has to start within the first six top-level
// items (a token, or a whole call or parenthesized group): an attacker breaks out of the
// literal right away, while a long harmless run first (a path like /a/b/c/24, a sentence) that
// only later turns into SQL is how ordinary text looks.
constexpr int kWindow = 5;
// Parentheses tracked; deeper nesting ends the reading (with what was found so far).
constexpr int kMaxDepth = 16;
// Longest word compared against the keyword and function tables.
constexpr std::size_t kMaxWord = 32;

// Token types, also the letters of the fingerprint.
constexpr char kNumber = '1';     // 12, 0x1f, 1.5e3, NULL, TRUE, CURRENT_USER
constexpr char kString = 's';     // 'text', "text", N'text', $$text$$
constexpr char kVariable = 'v';   // @x, @@version, :name, $1
constexpr char kName = 'n';       // an identifier: users, `t`, [t], db.t, a[1], <placeholder>
constexpr char kFunction = 'f';   // a name followed by "("
constexpr char kKeyword = 'k';    // FROM, WHERE, ORDER BY, AS, CASE, ...
constexpr char kUnion = 'U';      // UNION [ALL|DISTINCT], INTERSECT, EXCEPT, MINUS
constexpr char kStatement = 'E';  // SELECT, INSERT, DROP, EXEC, WAITFOR DELAY, ...
constexpr char kLogic = '&';      // AND, OR, XOR, &&, ||
constexpr char kOperator = 'o';   // arithmetic, comparison, LIKE, IS, IN, NOT, ...
constexpr char kOpen = '(';
constexpr char kClose = ')';
constexpr char kComma = ',';
constexpr char kSemicolon = ';';
constexpr char kComment = 'c';  // a comment that runs to the end of the input
constexpr char kUnknown = 'x';  // punctuation SQL has no use for here: { } ? \ $ ...

enum Flag : std::uint8_t {
  kFlagOpen = 1,        // string without its closing quote (ran to the end of the input)
  kFlagDanger = 2,      // delays, reads files, runs commands (sleep, load_file, ...)
  kFlagCmp = 4,         // operator compares (=, <, LIKE, IN, IS, ...)
  kFlagUnary = 8,       // operator that can stand before an operand (- + ~ ! NOT EXISTS)
  kFlagQualified = 16,  // name written the way only SQL writes names: db.t, [t]
  kFlagProse = 32,      // name is an English determiner ("the", "our"): text, not a table
  kFlagStar = 64,       // the "*" operator
  kFlagPostfix = 128,   // NOTNULL / ISNULL: a comparison after its operand
};
// kFlagQualified on a name means db.t or [t]; `t` (backticks, also Markdown's code spans) is
// quoted but shows nothing SQL-specific, so it only gets kFlagBacktick.
constexpr std::uint8_t kFlagBacktick = kFlagOpen;  // names are never open strings

enum Kw : std::uint8_t {
  kKwNone = 0,
  kKwAnd,
  kKwOr,
  kKwXor,
  kKwDiv,
  kKwMod,
  kKwCollate,
  kKwEscape,
  kKwLike,
  kKwIs,
  kKwIn,
  kKwBetween,
  kKwNotnull,
  kKwNot,
  kKwExists,
  kKwBinary,
  kKwQuantifier,  // ALL, ANY, SOME
  kKwDistinct,    // DISTINCT, DISTINCTROW
  kKwTop,
  kKwValue,  // NULL, TRUE, FALSE, CURRENT_USER, ...
  kKwUnion,
  kKwSelect,
  kKwInsert,  // INSERT, REPLACE
  kKwUpdate,
  kKwDelete,
  kKwDrop,  // DROP, TRUNCATE
  kKwCreate,
  kKwAlter,
  kKwExec,
  kKwCopy,
  kKwDeclare,
  kKwSet,
  kKwShutdown,
  kKwWaitfor,
  kKwFrom,
  kKwWhere,  // WHERE, HAVING
  kKwBy,
  kKwOrderBy,  // ORDER BY, GROUP BY
  kKwLimit,    // LIMIT, OFFSET
  kKwInto,
  kKwAs,
  kKwSort,  // ASC, DESC
  kKwCase,
  kKwWhen,  // WHEN, THEN, ELSE
  kKwEnd,
  kKwValues,
  kKwOutfile,  // OUTFILE, DUMPFILE; INTO OUTFILE after merging
  kKwDelay,    // DELAY (merged into WAITFOR)
  kKwImmediate,
};

struct KeywordEntry {
  std::string_view word;  // upper case; the table is sorted by it
  Kw kw;
  char type;
  std::uint8_t flags;
  bool callable;  // followed by "(" it is a function (INSERT(...), MOD(...)), not the keyword
};

// SQL words the grammar gives a role. Everything else is a name (or a function before "(").
constexpr KeywordEntry kKeywords[] = {
    {"ALL", kKwQuantifier, kKeyword, 0, false},
    {"ALTER", kKwAlter, kStatement, 0, false},
    {"AND", kKwAnd, kLogic, 0, false},
    {"ANY", kKwQuantifier, kKeyword, 0, false},
    {"AS", kKwAs, kKeyword, 0, false},
    {"ASC", kKwSort, kKeyword, 0, false},
    {"BETWEEN", kKwBetween, kOperator, kFlagCmp, false},
    {"BINARY", kKwBinary, kOperator, kFlagUnary, false},
    {"BY", kKwBy, kKeyword, 0, false},
    {"CASE", kKwCase, kKeyword, 0, false},
    {"COLLATE", kKwCollate, kOperator, 0, false},
    {"COPY", kKwCopy, kStatement, 0, false},
    {"CREATE", kKwCreate, kStatement, 0, false},
    {"CURRENT_DATE", kKwValue, kNumber, 0, true},
    {"CURRENT_TIME", kKwValue, kNumber, 0, true},
    {"CURRENT_TIMESTAMP", kKwValue, kNumber, 0, true},
    {"CURRENT_USER", kKwValue, kNumber, 0, true},
    {"DECLARE", kKwDeclare, kStatement, 0, false},
    {"DELAY", kKwDelay, kKeyword, 0, false},
    {"DELETE", kKwDelete, kStatement, 0, false},
    {"DESC", kKwSort, kKeyword, 0, false},
    {"DISTINCT", kKwDistinct, kKeyword, 0, false},
    {"DISTINCTROW", kKwDistinct, kKeyword, 0, false},
    {"DIV", kKwDiv, kOperator, 0, false},
    {"DROP", kKwDrop, kStatement, 0, false},
    {"DUMPFILE", kKwOutfile, kKeyword, 0, false},
    {"ELSE", kKwWhen, kKeyword, 0, false},
    {"END", kKwEnd, kKeyword, 0, false},
    {"ESCAPE", kKwEscape, kOperator, 0, false},
    {"EXCEPT", kKwUnion, kUnion, 0, false},
    {"EXEC", kKwExec, kStatement, 0, false},
    {"EXECUTE", kKwExec, kStatement, 0, false},
    {"EXISTS", kKwExists, kOperator, kFlagUnary, false},
    {"FALSE", kKwValue, kNumber, 0, false},
    {"FROM", kKwFrom, kKeyword, 0, false},
    {"GLOB", kKwLike, kOperator, kFlagCmp, true},
    {"HAVING", kKwWhere, kKeyword, 0, false},
    {"ILIKE", kKwLike, kOperator, kFlagCmp, false},
    {"IMMEDIATE", kKwImmediate, kKeyword, 0, false},
    {"IN", kKwIn, kOperator, kFlagCmp, false},
    {"INSERT", kKwInsert, kStatement, 0, true},
    {"INTERSECT", kKwUnion, kUnion, 0, false},
    {"INTO", kKwInto, kKeyword, 0, false},
    {"IS", kKwIs, kOperator, kFlagCmp, false},
    {"ISNULL", kKwNotnull, kOperator, kFlagCmp | kFlagPostfix, true},
    {"LIKE", kKwLike, kOperator, kFlagCmp, true},
    {"LIMIT", kKwLimit, kKeyword, 0, false},
    {"LOCALTIME", kKwValue, kNumber, 0, true},
    {"LOCALTIMESTAMP", kKwValue, kNumber, 0, true},
    {"MINUS", kKwUnion, kUnion, 0, false},
    {"MOD", kKwMod, kOperator, 0, true},
    {"NOT", kKwNot, kOperator, kFlagUnary, false},
    {"NOTNULL", kKwNotnull, kOperator, kFlagCmp | kFlagPostfix, false},
    {"NULL", kKwValue, kNumber, 0, false},
    {"OFFSET", kKwLimit, kKeyword, 0, false},
    {"OR", kKwOr, kLogic, 0, false},
    {"OUTFILE", kKwOutfile, kKeyword, 0, false},
    {"REGEXP", kKwLike, kOperator, kFlagCmp, false},
    {"REPLACE", kKwInsert, kStatement, 0, true},
    {"RLIKE", kKwLike, kOperator, kFlagCmp, false},
    {"SELECT", kKwSelect, kStatement, 0, false},
    {"SESSION_USER", kKwValue, kNumber, 0, true},
    {"SET", kKwSet, kStatement, 0, false},
    {"SHUTDOWN", kKwShutdown, kStatement, 0, false},
    {"SOME", kKwQuantifier, kKeyword, 0, false},
    {"SYSTEM_USER", kKwValue, kNumber, 0, true},
    {"THEN", kKwWhen, kKeyword, 0, false},
    {"TOP", kKwTop, kKeyword, 0, false},
    {"TRUE", kKwValue, kNumber, 0, false},
    {"TRUNCATE", kKwDrop, kStatement, 0, true},
    {"UNION", kKwUnion, kUnion, 0, false},
    {"UPDATE", kKwUpdate, kStatement, 0, false},
    {"VALUES", kKwValues, kKeyword, 0, false},
    {"WAITFOR", kKwWaitfor, kStatement, 0, false},
    {"WHEN", kKwWhen, kKeyword, 0, false},
    {"WHERE", kKwWhere, kKeyword, 0, false},
    {"XOR", kKwXor, kLogic, 0, false},
};

// Functions that delay the answer (blind injection), read or write files, reach the network or
// raise errors carrying data. Matched on the whole lower-case name, or on the part after the
// last "." of a qualified name (dbms_lock.sleep).
constexpr std::string_view kDangerousFunctions[] = {
    "benchmark",        "extractvalue",    "get_host_address",
    "get_host_name",    "load_extension",  "load_file",
    "lo_export",        "lo_get",          "lo_import",
    "name_const",       "pg_ls_dir",       "pg_read_binary_file",
    "pg_read_file",     "pg_sleep",        "pg_sleep_for",
    "randomblob",       "receive_message", "sleep",
    "sys_eval",         "sys_exec",        "updatexml",
    "utl_http.request", "xmltype",         "xp_cmdshell",
    "xp_dirtree",
};

// Words that start English noun phrases. Where SQL needs a table name (after FROM, INTO,
// UPDATE), one of these means the text is a sentence ("select one from the list").
constexpr std::string_view kDeterminers[] = {"a",   "an",    "any",   "each", "every", "her",
                                             "his", "its",   "my",    "our",  "some",  "that",
                                             "the", "their", "these", "this", "those", "your"};

// Objects DROP/CREATE/ALTER/TRUNCATE act on.
constexpr std::string_view kSchemaObjects[] = {
    "database",  "event", "function", "index",    "login", "or",
    "procedure", "role",  "schema",   "sequence", "table", "tablespace",
    "temporary", "temp",  "trigger",  "user",     "view"};

bool IsSpace(unsigned char c) { return c <= 0x20 || c == 0x7f; }
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsWordStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IsWordChar(unsigned char c) { return IsWordStart(c) || IsDigit(c) || c == '$'; }
bool IsAsciiLetter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

template <std::size_t N>
bool InList(std::string_view lower, const std::string_view (&list)[N]) {
  for (const std::string_view w : list) {
    if (lower == w) return true;
  }
  return false;
}

const KeywordEntry* FindKeyword(std::string_view word) {
  if (word.size() >= kMaxWord) return nullptr;
  char buf[kMaxWord];
  for (std::size_t i = 0; i < word.size(); ++i) buf[i] = Upper(word[i]);
  const std::string_view upper(buf, word.size());
  const auto* end = std::end(kKeywords);
  const auto* it =
      std::lower_bound(std::begin(kKeywords), end, upper,
                       [](const KeywordEntry& e, std::string_view w) { return e.word < w; });
  if (it == end || it->word != upper) return nullptr;
  return it;
}

bool IsDangerousFunction(std::string_view word) {
  if (word.size() >= kMaxWord) return false;
  char buf[kMaxWord];
  for (std::size_t i = 0; i < word.size(); ++i) buf[i] = Lower(word[i]);
  const std::string_view lower(buf, word.size());
  if (InList(lower, kDangerousFunctions)) return true;
  const std::size_t dot = lower.rfind('.');
  return dot != std::string_view::npos && InList(lower.substr(dot + 1), kDangerousFunctions);
}

bool IsDeterminer(std::string_view word) {
  if (word.size() > 8) return false;
  char buf[8];
  for (std::size_t i = 0; i < word.size(); ++i) buf[i] = Lower(word[i]);
  return InList(std::string_view(buf, word.size()), kDeterminers);
}

struct Token {
  char type = kUnknown;
  std::uint8_t flags = 0;
  Kw kw = kKwNone;
  std::size_t pos = 0;
  std::size_t len = 0;
};

// Splits one reading of the input into tokens. Comments in the middle are skipped like
// whitespace (they are how attackers space out keywords); MySQL's /*! ... */ has its body read
// as SQL; a comment that runs to the end of the input becomes a kComment token and ends the
// list. No backslash escapes: in standard SQL (PostgreSQL, MSSQL, SQLite, Oracle) a backslash
// does not protect a quote, so `\'` still closes the literal.
class Lexer {
 public:
  Lexer(std::string_view in, Token* out) : in_(in), out_(out) {}

  // `quote` != 0: the input continues a literal opened with that quote; its first token is the
  // rest of that literal. Returns the token count (0 when the input never leaves the literal).
  int Run(char quote) {
    if (quote != 0) {
      const std::size_t end = StringEnd(0, quote);
      if (end == std::string_view::npos) return 0;
      Emit(kString, 0, end, 0, kKwNone);
      pos_ = end + 1;
    }
    while (n_ < kMaxTokens && pos_ < in_.size() && !done_) Next();
    return n_;
  }

 private:
  // Index of the quote that closes a literal whose body starts at `from`; a doubled quote is
  // an escaped one. npos when the literal runs to the end.
  std::size_t StringEnd(std::size_t from, char quote) const {
    std::size_t i = from;
    while (true) {
      const std::size_t q = in_.find(quote, i);
      if (q == std::string_view::npos) return q;
      if (q + 1 < in_.size() && in_[q + 1] == quote) {
        i = q + 2;
        continue;
      }
      return q;
    }
  }

  void Emit(char type, std::size_t pos, std::size_t len, std::uint8_t flags, Kw kw) {
    Token& t = out_[n_++];
    t.type = type;
    t.pos = pos;
    t.len = len;
    t.flags = flags;
    t.kw = kw;
  }

  unsigned char At(std::size_t i) const {
    return i < in_.size() ? static_cast<unsigned char>(in_[i]) : 0;
  }

  // A comment from `pos_` to the end of its line: a token when nothing but space follows it,
  // otherwise skipped.
  void LineComment() {
    const std::size_t nl = in_.find('\n', pos_);
    std::size_t rest = nl == std::string_view::npos ? in_.size() : nl;
    while (rest < in_.size() && IsSpace(At(rest))) ++rest;
    if (rest >= in_.size()) {
      Emit(kComment, pos_, in_.size() - pos_, 0, kKwNone);
      done_ = true;
      return;
    }
    pos_ = rest;
  }

  // Skips space and complete /* */ comments from `i`; returns the next position.
  std::size_t SkipSpace(std::size_t i) const {
    while (i < in_.size()) {
      if (IsSpace(At(i))) {
        ++i;
      } else if (At(i) == '/' && At(i + 1) == '*' && At(i + 2) != '!') {
        const std::size_t end = in_.find("*/", i + 2);
        if (end == std::string_view::npos) return i;
        i = end + 2;
      } else {
        return i;
      }
    }
    return i;
  }

  void Next() {
    const unsigned char c = At(pos_);
    if (IsSpace(c)) {
      ++pos_;
      return;
    }
    const unsigned char c1 = At(pos_ + 1);
    if (c == '/' && c1 == '*') {
      if (At(pos_ + 2) == '!') {
        // MySQL runs the body of /*! ... */ (and /*!50001 ... */): read it as SQL.
        pos_ += 3;
        while (IsDigit(At(pos_))) ++pos_;
        ++open_exec_comments_;
        return;
      }
      const std::size_t end = in_.find("*/", pos_ + 2);
      if (end == std::string_view::npos) {
        Emit(kComment, pos_, in_.size() - pos_, 0, kKwNone);
        done_ = true;
        return;
      }
      pos_ = end + 2;
      if (n_ > 0) inline_comment_ = true;
      return;
    }
    if (c == '*' && c1 == '/' && open_exec_comments_ > 0) {
      --open_exec_comments_;
      pos_ += 2;
      return;
    }
    // "--" starts a comment, except right before a letter: MySQL needs a space after it, and
    // "--quiet" is a command-line flag in text about tools.
    if ((c == '-' && c1 == '-' && !IsAsciiLetter(At(pos_ + 2))) || c == '#') {
      LineComment();
      return;
    }
    if (c == '\'' || c == '"') {
      String(pos_ + 1, c);
      return;
    }
    if (c == '`') {
      const std::size_t end = in_.find('`', pos_ + 1);
      const std::size_t stop = end == std::string_view::npos ? in_.size() : end;
      Emit(kName, pos_ + 1, stop - pos_ - 1, kFlagBacktick, kKwNone);
      pos_ = stop == in_.size() ? stop : stop + 1;
      return;
    }
    if (IsDigit(c) || (c == '.' && IsDigit(c1))) {
      Number();
      return;
    }
    if (IsWordStart(c)) {
      Word();
      return;
    }
    switch (c) {
      case '@':
        if (c1 == '>') {  // PostgreSQL's @> (contains)
          Operator();
        } else {
          Variable(pos_ + 1);
        }
        return;
      case ':':
        if (c1 == ':' || c1 == '=') {
          Emit(kOperator, pos_, 2, 0, kKwNone);
          pos_ += 2;
        } else if (IsWordStart(c1)) {
          Variable(pos_ + 1);  // :name placeholder
        } else {
          Emit(kUnknown, pos_++, 1, 0, kKwNone);
        }
        return;
      case '$':
        if (c1 == '$') {  // PostgreSQL $$...$$ literal
          const std::size_t end = in_.find("$$", pos_ + 2);
          const std::size_t stop = end == std::string_view::npos ? in_.size() : end;
          Emit(kString, pos_ + 2, stop - pos_ - 2, end == std::string_view::npos ? kFlagOpen : 0,
               kKwNone);
          pos_ = end == std::string_view::npos ? in_.size() : end + 2;
        } else if (IsDigit(c1)) {
          Variable(pos_ + 1);  // $1 placeholder
        } else {
          Emit(kUnknown, pos_++, 1, 0, kKwNone);
        }
        return;
      case '[':
        Bracketed();
        return;
      case '?': {
        // PostgreSQL's jsonb key tests: x ? 'k', x ?| array[...], x ?& array[...]. A question
        // mark anywhere else ("why?") is punctuation.
        const std::size_t len = (c1 == '|' || c1 == '&') ? 2 : 1;
        const std::size_t next = SkipSpace(pos_ + len);
        if (len == 2 || (At(next) == '\'' && next > pos_ + len)) {
          Emit(kOperator, pos_, len, kFlagCmp, kKwNone);
        } else {
          Emit(kUnknown, pos_, 1, 0, kKwNone);
        }
        pos_ += len;
        return;
      }
      case '\\':
        if (c1 == 'N') {  // MySQL's \N is NULL
          Emit(kNumber, pos_, 2, 0, kKwValue);
          pos_ += 2;
        } else {
          Emit(kUnknown, pos_++, 1, 0, kKwNone);
        }
        return;
      case '(':
        Emit(kOpen, pos_++, 1, 0, kKwNone);
        return;
      case ')':
        Emit(kClose, pos_++, 1, 0, kKwNone);
        return;
      case ',':
        Emit(kComma, pos_++, 1, 0, kKwNone);
        return;
      case ';':
        Emit(kSemicolon, pos_++, 1, 0, kKwNone);
        return;
      case '<':
        if (Placeholder()) return;
        Operator();
        return;
      default:
        Operator();
        return;
    }
  }

  // <dir>, <yes|no>, <file>: a placeholder in documentation (or a tag), one name to SQL.
  bool Placeholder() {
    if (!IsWordStart(At(pos_ + 1))) return false;
    std::size_t i = pos_ + 1;
    while (i < in_.size() && i - pos_ < 40 &&
           (IsWordChar(At(i)) || At(i) == '|' || At(i) == '-' || At(i) == '.')) {
      ++i;
    }
    if (At(i) != '>') return false;
    Emit(kName, pos_, i + 1 - pos_, 0, kKwNone);
    pos_ = i + 1;
    return true;
  }

  void String(std::size_t body, char quote) {
    const std::size_t end = StringEnd(body, quote);
    if (end == std::string_view::npos) {
      Emit(kString, body, in_.size() - body, kFlagOpen, kKwNone);
      pos_ = in_.size();
      return;
    }
    Emit(kString, body, end - body, 0, kKwNone);
    pos_ = end + 1;
  }

  void Variable(std::size_t from) {
    std::size_t i = from;
    if (At(i) == '@') ++i;
    if (At(i) == '\'' || At(i) == '"' || At(i) == '`') {  // @'name'
      const std::size_t end = in_.find(static_cast<char>(At(i)), i + 1);
      i = end == std::string_view::npos ? in_.size() : end + 1;
    } else {
      while (i < in_.size() && (IsWordChar(At(i)) || At(i) == '.')) ++i;
    }
    Emit(kVariable, pos_, i - pos_, 0, kKwNone);
    pos_ = i;
  }

  // [name] is an MSSQL identifier; other brackets are punctuation.
  void Bracketed() {
    std::size_t i = pos_ + 1;
    while (i < in_.size() && i - pos_ < 128 && (IsWordChar(At(i)) || At(i) == ' ')) ++i;
    if (At(i) == ']' && i > pos_ + 1) {
      Emit(kName, pos_ + 1, i - pos_ - 1, kFlagQualified, kKwNone);
      pos_ = i + 1;
      return;
    }
    Emit(kUnknown, pos_++, 1, 0, kKwNone);
  }

  void Number() {
    std::size_t i = pos_;
    if (At(i) == '0' && (At(i + 1) == 'x' || At(i + 1) == 'X') && IsHex(At(i + 2))) {
      i += 2;
      while (IsHex(At(i))) ++i;
    } else if (At(i) == '0' && (At(i + 1) == 'b' || At(i + 1) == 'B') &&
               (At(i + 2) == '0' || At(i + 2) == '1')) {
      i += 2;
      while (At(i) == '0' || At(i) == '1') ++i;
    } else {
      while (IsDigit(At(i))) ++i;
      if (At(i) == '.' && !IsWordStart(At(i + 1))) {
        ++i;
        while (IsDigit(At(i))) ++i;
      }
      if ((At(i) == 'e' || At(i) == 'E') &&
          (IsDigit(At(i + 1)) || ((At(i + 1) == '-' || At(i + 1) == '+') && IsDigit(At(i + 2))))) {
        i += 2;
        while (IsDigit(At(i))) ++i;
      }
      // A member access on a literal (Ruby's 20.to_i in a probe) stays part of the number.
      if (At(i) == '.' && IsWordStart(At(i + 1))) {
        ++i;
        while (IsWordChar(At(i))) ++i;
      }
    }
    Emit(kNumber, pos_, i - pos_, 0, kKwNone);
    pos_ = i;
  }

  void Operator() {
    static constexpr std::string_view kThree[] = {"<=>", "->>"};
    static constexpr std::string_view kTwo[] = {"<=", ">=", "<>", "!=", "==", "||", "&&", "<<",
                                                ">>", "->", "!<", "!>", ":=", "<@", "@>"};
    const std::string_view rest = in_.substr(pos_);
    std::size_t len = 1;
    for (const std::string_view op : kThree) {
      if (rest.starts_with(op)) len = 3;
    }
    if (len == 1) {
      for (const std::string_view op : kTwo) {
        if (rest.starts_with(op)) len = 2;
      }
    }
    const std::string_view op = rest.substr(0, len);
    const unsigned char c = At(pos_);
    std::uint8_t flags = 0;
    char type = kOperator;
    if (op == "||" || op == "&&") {
      type = kLogic;
    } else if (op == "=" || op == "==" || op == "<" || op == ">" || op == "<=" || op == ">=" ||
               op == "<>" || op == "!=" || op == "<=>" || op == "!<" || op == "!>" || op == "<@" ||
               op == "@>") {
      flags = kFlagCmp;
    } else if (len == 1 && (c == '-' || c == '+' || c == '~' || c == '!')) {
      flags = kFlagUnary;
    } else if (len == 1 && c == '*') {
      flags = kFlagStar;
    } else if (len == 1 && std::strchr("/%^|&.<>=", c) == nullptr) {
      type = kUnknown;  // { } ? ] and other punctuation
    }
    Emit(type, pos_, len, flags, kKwNone);
    pos_ += len;
  }

  void Word() {
    std::size_t i = pos_;
    bool qualified = false;
    while (i < in_.size()) {
      const unsigned char c = At(i);
      if (IsWordChar(c)) {
        ++i;
      } else if (c == '.' && (IsWordStart(At(i + 1)) || At(i + 1) == '.')) {
        qualified = true;  // db.table, master..xp_cmdshell
        ++i;
      } else if (c == '[') {
        // PostgreSQL array subscript: a[1], array[id]
        std::size_t j = i + 1;
        while (j < in_.size() && j - i < 64 && (IsWordChar(At(j)) || At(j) == ' ')) ++j;
        if (At(j) != ']') break;
        i = j + 1;
      } else {
        break;
      }
    }
    const std::string_view word = in_.substr(pos_, i - pos_);
    // Literal prefixes: N'..' E'..' X'..' B'..', and MySQL's charset introducer _utf8'..'.
    const unsigned char q = At(i);
    if ((q == '\'' || q == '"') &&
        ((word.size() == 1 && std::strchr("NnEeXxBb", word[0]) != nullptr) ||
         (word[0] == '_' && !qualified))) {
      String(i + 1, static_cast<char>(q));
      return;
    }
    pos_ = i;
    const bool call = At(SkipSpace(i)) == '(';
    if (Merge(word)) return;
    if (const KeywordEntry* k = FindKeyword(word); k != nullptr && !(call && k->callable)) {
      Emit(k->type, i - word.size(), word.size(), k->flags, k->kw);
      return;
    }
    if (call) {
      Emit(kFunction, i - word.size(), word.size(),
           IsDangerousFunction(word) ? static_cast<std::uint8_t>(kFlagDanger) : 0, kKwNone);
      return;
    }
    Emit(kName, i - word.size(), word.size(),
         static_cast<std::uint8_t>((qualified ? kFlagQualified : 0) |
                                   (IsDeterminer(word) ? kFlagProse : 0)),
         kKwNone);
  }

  // Folds two-word keywords into the previous token: UNION ALL, ORDER BY, IS NOT, NOT LIKE,
  // SOUNDS LIKE, WAITFOR DELAY, INTO OUTFILE, EXECUTE IMMEDIATE. True when `word` was folded.
  bool Merge(std::string_view word) {
    if (n_ == 0) return false;
    Token& prev = out_[n_ - 1];
    const std::string_view prev_text = in_.substr(prev.pos, prev.len);
    auto extend = [&] { prev.len = pos_ - prev.pos; };
    if (prev.kw == kKwUnion &&
        (EqualsIgnoreCase(word, "all") || EqualsIgnoreCase(word, "distinct"))) {
      extend();
      return true;
    }
    if (EqualsIgnoreCase(word, "by") && prev.type == kName &&
        (EqualsIgnoreCase(prev_text, "order") || EqualsIgnoreCase(prev_text, "group"))) {
      prev = Token{kKeyword, 0, kKwOrderBy, prev.pos, 0};
      extend();
      return true;
    }
    if (prev.kw == kKwIs && EqualsIgnoreCase(word, "not")) {
      extend();
      return true;
    }
    if (prev.kw == kKwNot && prev.type == kOperator) {
      const KeywordEntry* k = FindKeyword(word);
      if (k != nullptr && (k->kw == kKwLike || k->kw == kKwIn || k->kw == kKwBetween)) {
        prev.kw = k->kw;
        prev.flags = kFlagCmp;
        extend();
        return true;
      }
    }
    if (EqualsIgnoreCase(word, "like") && prev.type == kName &&
        EqualsIgnoreCase(prev_text, "sounds")) {
      prev = Token{kOperator, kFlagCmp, kKwLike, prev.pos, 0};
      extend();
      return true;
    }
    if (prev.kw == kKwNot && prev.type == kOperator && EqualsIgnoreCase(word, "similar")) {
      prev.kw = kKwLike;
      prev.flags = kFlagCmp;
      extend();
      return true;
    }
    if (EqualsIgnoreCase(word, "to") &&
        ((prev.type == kName && EqualsIgnoreCase(prev_text, "similar")) ||
         (prev.kw == kKwLike && prev_text.size() > 7 &&
          EqualsIgnoreCase(prev_text.substr(prev_text.size() - 7), "similar")))) {
      prev = Token{kOperator, kFlagCmp, kKwLike, prev.pos, 0};
      extend();
      return true;
    }
    if (prev.kw == kKwWaitfor && prev.flags == 0 &&
        (EqualsIgnoreCase(word, "delay") || EqualsIgnoreCase(word, "time"))) {
      prev.flags = kFlagDanger;
      extend();
      return true;
    }
    if (prev.kw == kKwInto &&
        (EqualsIgnoreCase(word, "outfile") || EqualsIgnoreCase(word, "dumpfile"))) {
      prev.kw = kKwOutfile;
      prev.flags = kFlagDanger;
      extend();
      return true;
    }
    if (prev.kw == kKwExec && EqualsIgnoreCase(word, "immediate")) {
      prev.flags = kFlagDanger;
      extend();
      return true;
    }
    return false;
  }

  std::string_view in_;
  Token* out_;
  int n_ = 0;
  std::size_t pos_ = 0;
  int open_exec_comments_ = 0;
  bool done_ = false;
  bool inline_comment_ = false;

 public:
  // A /* */ comment stood between two tokens: SQL spaced out with comments (SELECT/**/x) is
  // written by attackers, not by people.
  bool inline_comment() const { return inline_comment_; }
};

enum class Clause : std::uint8_t { kExpr, kSelectList, kTable, kAfterTable };
enum class Frame : std::uint8_t { kTop, kParen, kCall };

// One level of parentheses (or the top level) while walking the tokens.
struct Scope {
  Frame kind = Frame::kTop;
  Clause clause = Clause::kExpr;
  int open = 0;        // token index of the "(" or function that opened it
  int select_at = -1;  // the SELECT whose list or FROM is being read here
  // The current boolean term (what stands between AND/OR):
  bool term_any = false;        // it has an operand
  bool term_cmp = false;        // it compares
  bool term_sub = false;        // it holds a subquery
  bool term_literal = false;    // it has a number, string or variable
  bool term_symbol = false;     // it compares with a symbol (=, <, ...), not a word (IS, IN)
  int term_operands = 0;        // its operands (a call or (...) is one)
  bool term_single_ok = false;  // its first operand was a literal, a call or (...)
  bool last_name = false;       // its last operand was a bare name
  bool last_call = false;       // its last operand was a function call
  // AND/OR in this scope:
  bool logic = false;          // one was seen
  bool leading_logic = false;  // the value started with one (nothing before it)
  bool left_simple = false;    // the term before the first one neither compared nor was a
                               // name or a call: a plain value, as an injection leaves it
  int logic_at = -1;           // the first one
  bool between = false;        // BETWEEN waits for its AND
  // SELECT:
  bool sql_list = false;     // the select list shows SQL: a call, *, @var, a.b, 2+ items
  bool alias_ok = false;     // a bare name may follow as an alias
  bool table_named = false;  // FROM named a table
};

enum class Reason : std::uint8_t {
  kNone,
  kTautology,     // value, AND/OR, comparison:  1 OR 1=1   ' or '1'='1
  kUnion,         // UNION SELECT after a value
  kStacked,       // ; then a statement, or an MSSQL statement right after the value
  kStatement,     // the value is a statement: select * from t where ..., drop table t
  kSubquery,      // (select ...)
  kDangerous,     // sleep( benchmark( waitfor delay, load_file( into outfile
  kCommentCut,    // a comment cuts the statement after the literal:  admin'--
  kQuoteCompare,  // ' = '   x'='x
  kSandwich,      // '+ ... +'  the literal is closed, an expression runs, and it is reopened
};

struct Verdict {
  Reason reason = Reason::kNone;
  int end = 0;  // tokens shown in the fingerprint
};

// Walks one reading's tokens as SQL. Each step either follows the grammar or ends the walk
// (`error_`: the text stopped reading as SQL; `stop_`: nothing later can matter). Evidence is
// recorded by Found() and ends the walk too.
class ShapeChecker {
 public:
  ShapeChecker(std::string_view in, const Token* t, int n, char quote, bool inline_comment)
      : in_(in),
        t_(t),
        n_(n),
        quote_(quote),
        quoted_(quote != '\0'),
        inline_comment_(inline_comment) {}

  Verdict Run() {
    if (n_ == 0) return {};
    if (quoted_ && Sandwich()) return {Reason::kSandwich, n_};
    // Unquoted: a quote dangling at the very end ("or 1=1'") is left over from testing which
    // quote the application uses; it does not change what comes before it.
    if (!quoted_ && n_ > 1 && IsOpenString(n_ - 1)) {
      bool blank = true;
      for (std::size_t k = T(n_ - 1).pos; k < in_.size(); ++k) {
        blank = blank && IsSpace(static_cast<unsigned char>(in_[k]));
      }
      if (blank) --n_;
    }
    CountUnits();
    FoldLeadingList();
    int i = 0;
    if (quoted_) {
      // Token 0 is the rest of the application's literal: a complete value.
      scopes_[0].term_any = true;
      want_operand_ = false;
      i = 1;
    }
    while (i < n_ && !Done()) {
      if (!(want_operand_ ? Operand(i) : Operator(i))) break;
      ++i;
    }
    if (!Done() && !error_) EndOfInput();
    // Text after "(select user()" may stop reading as SQL; the subquery was one already.
    if (error_) {
      for (; depth_ >= 0 && !Done(); --depth_) {
        if (S().sql_list) JudgeSelect(i, false);
      }
    }
    return verdict_;
  }

 private:
  bool Done() const { return verdict_.reason != Reason::kNone || stop_; }
  Scope& S() { return scopes_[depth_]; }
  const Token& T(int i) const { return t_[i]; }
  bool Has(int i) const { return i < n_; }
  std::string_view Text(int i) const { return in_.substr(t_[i].pos, t_[i].len); }
  bool TextIs(int i, std::string_view w) const { return Has(i) && EqualsIgnoreCase(Text(i), w); }
  bool IsLiteral(int i) const {
    const char ty = T(i).type;
    return ty == kNumber || ty == kString || ty == kVariable;
  }
  bool IsOpenString(int i) const { return T(i).type == kString && (T(i).flags & kFlagOpen); }
  bool IsOperandStart(int i) const {
    const Token& t = T(i);
    return IsLiteral(i) || t.type == kName || t.type == kFunction || t.type == kOpen ||
           (t.type == kOperator && (t.flags & (kFlagUnary | kFlagStar))) || t.kw == kKwSelect ||
           t.kw == kKwCase;
  }
  bool NameLike(int i) const { return Has(i) && T(i).type == kName && !(T(i).flags & kFlagProse); }
  // A table name, or one with its column list: t, t(a, b).
  bool TableLike(int i) const { return NameLike(i) || (Has(i) && T(i).type == kFunction); }
  bool Ends(int i) const { return !Has(i) || Terminated(i); }
  bool Terminated(int i) const {
    return Has(i) && (T(i).type == kSemicolon || T(i).type == kComment);
  }

  bool Error() {
    error_ = true;
    return false;
  }

  // Records evidence when its construct starts inside the window. `anchor` is the token where
  // it starts; `last` the last token it needed.
  void Found(Reason r, int anchor, int last) {
    if (unit_[anchor] - fold_ > kWindow) return;
    verdict_.reason = r;
    verdict_.end = std::clamp(last + 1, 1, n_);
  }
  // The top-level token containing token `i` (a nested one counts from its outermost "(").
  int Anchor(int i) const { return depth_ == 0 ? i : scopes_[1].open; }

  // The window counts top-level items: a parenthesized group or a call with its arguments is
  // one ("mod(1,1);set @a=..." breaks out at its second item). unit_[i] is the item of token i.
  void CountUnits() {
    int depth = 0;
    int unit = -1;
    for (int i = 0; i < n_; ++i) {
      const char ty = T(i).type;
      const bool call_paren = ty == kOpen && i > 0 && T(i - 1).type == kFunction && depth == 0;
      if (depth == 0 && !call_paren) ++unit;
      unit_[i] = std::max(unit, 0);
      if (ty == kOpen) ++depth;
      if (ty == kClose && depth > 0) --depth;
    }
  }

  // "1,2,'x'," at the start (a spliced IN list or VALUES row) counts as one value for the
  // window.
  void FoldLeadingList() {
    int j = 0;
    while (j + 2 < n_ && IsLiteral(j) && T(j + 1).type == kComma && IsLiteral(j + 2)) j += 2;
    fold_ = j;
  }

  // Quoted readings only: the literal is closed, an expression follows, and the input ends by
  // opening a literal again for the application's closing quote:  '+ EXPR +'  '| cmd |'.
  bool Sandwich() const {
    if (n_ < 6 || n_ >= kMaxTokens) return false;
    const Token& last = T(n_ - 1);
    if (!IsOpenString(n_ - 1)) return false;
    // Joined by an operator: + - * / | || and the like; not "." (a sentence ends: "... as
    // "Not a Contribution.") and not a keyword (NOT).
    auto joins = [&](int i) {
      return (T(i).type == kOperator && !(T(i).flags & kFlagCmp) && T(i).kw == kKwNone &&
              Text(i) != ".") ||
             T(i).type == kLogic;
    };
    if (!joins(1) || !joins(n_ - 2)) return false;
    if (T(2).type == kOperator) return false;  // "--no-": a flag, not '+ EXPR +'
    // The reopened literal is empty ('+x+'), or ANDed on (' and x and 'true).
    if (T(n_ - 2).type != kLogic) {
      for (std::size_t k = last.pos; k < in_.size(); ++k) {
        if (!IsSpace(static_cast<unsigned char>(in_[k]))) return false;
      }
    }
    // Literals and arithmetic alone ("5' + 3 + 2'", about feet) are not enough.
    for (int i = 2; i < n_ - 2; ++i) {
      const char ty = T(i).type;
      if (ty == kName || ty == kFunction || ty == kUnknown || ty == kStatement) return true;
    }
    return false;
  }

  // --- boolean terms and select lists -----------------------------------------------------

  void OperandSeen(int i) {
    Scope& s = S();
    s.term_any = true;
    s.last_name = T(i).type == kName && !(T(i).flags & kFlagQualified);
    s.last_call = false;
    s.term_literal = s.term_literal || IsLiteral(i);
    if (s.term_operands++ == 0) s.term_single_ok = IsLiteral(i);
  }

  // The application's literal ends in a space and the reopened one starts with one: the input
  // quotes a word in a sentence (the 'or' operator), it does not break out of a literal.
  bool QuotesAWord() const {
    const Token& first = T(0);
    const Token& last = T(n_ - 1);
    return first.len > 0 && IsSpace(static_cast<unsigned char>(in_[first.pos + first.len - 1])) &&
           last.len > 0 && IsSpace(static_cast<unsigned char>(in_[last.pos]));
  }

  void ResetTerm() {
    Scope& s = S();
    s.term_any = s.term_cmp = s.term_sub = s.last_name = s.last_call = false;
    s.term_literal = s.term_symbol = false;
    s.term_operands = 0;
    s.term_single_ok = false;
  }

  // The literal the application's closing quote would close, when the input ends by opening
  // one: empty or one short word ('1, 'x, '), as in x'='x. Prose reopens with more text
  // ("Screenplay based on), code with punctuation ('> ');).
  bool ReopensWithAWord() const {
    if (!IsOpenString(n_ - 1)) return false;
    const Token& last = T(n_ - 1);
    if (last.len > 24) return false;
    for (std::size_t k = last.pos; k < last.pos + last.len; ++k) {
      const unsigned char c = static_cast<unsigned char>(in_[k]);
      if (!(IsWordChar(c) || c == '-' || c == '.' || c == '@' || c == '%')) return false;
    }
    return true;
  }

  // The reopened literal has no letters (' 1=1, ' = '): no prose.
  bool ReopensWithoutWords() const {
    if (!IsOpenString(n_ - 1) || T(n_ - 1).len > 24) return false;
    for (std::size_t k = T(n_ - 1).pos; k < T(n_ - 1).pos + T(n_ - 1).len; ++k) {
      const char c = Lower(in_[k]);
      if ((c >= 'a' && c <= 'z') || static_cast<unsigned char>(c) >= 0x80) return false;
    }
    return true;
  }

  // A comment in a quoted reading that holds the reading's quote again: prose or code quoting
  // a flag or key ("--quiet" option, "#dep": 1), where the quote pairs up; an injection's
  // comment swallows the application's closing quote instead.
  bool CommentQuotes(int i) const {
    return quoted_ && Has(i) && T(i).type == kComment &&
           Text(i).find(quote_) != std::string_view::npos;
  }

  // The current boolean term ended at token `i`; `how` is the type of the token that ended it
  // (0: the end of the input). An AND/OR after a plain value whose right side compares,
  // queries, or is a literal cut off by a comment or ";" is a tautology (or contradiction)
  // probe; in a quoted reading, a comparison right after the literal that ends where the
  // application's quote closes it is one too.
  void CloseTerm(int i, char how) {
    Scope& s = S();
    const bool cut = (how == kComment || how == kSemicolon) && !CommentQuotes(i) &&
                     !(how == kSemicolon && CommentQuotes(i + 1));
    const bool reopened = how == 0 && quoted_ && ReopensWithAWord();
    if (s.logic && s.left_simple && s.term_any) {
      bool strong = s.term_cmp || s.term_sub;
      // "or 1=1" with nothing before: the comparison has to look like SQL; "or `port` is
      // specified" compares two words.
      if (s.leading_logic && !s.term_sub) strong = s.term_cmp && (s.term_symbol || s.term_literal);
      // ' or 1--  ' or true;  x' or json(id);  : one value, then the statement is cut. Not
      // a word: "OR SERVICES; LOSS OF USE".
      if (!strong && cut && s.term_operands == 1 && s.term_single_ok) strong = true;
      // ' or '  : the right side is only the literal the application's quote closes (a word,
      // or no letters at all: ' or ' 1=1). Not English quoting a word: the 'or' operator.
      if (!strong && how == 0 && quoted_ && n_ >= 2 && T(n_ - 2).type == kLogic &&
          (reopened || ReopensWithoutWords()) && !QuotesAWord()) {
        strong = true;
      }
      if (strong) Found(Reason::kTautology, depth_ == 0 ? s.logic_at : scopes_[1].open, i - 1);
      if (Done()) return;
    }
    if (quoted_ && depth_ == 0 && !s.logic && s.term_cmp && !QuotesAWord() &&
        (cut || reopened || how == kLogic)) {
      Found(Reason::kQuoteCompare, 1, i - 1);
    }
  }

  // The select list (and FROM) of the current scope ended at token `i`. It shows a query when
  // it holds SQL (a call, *, @var, a.b, several items) or names a table that a clause or ")"
  // follows; "select a nice shirt from our range" does neither.
  void JudgeSelect(int i, bool clause_follows) {
    Scope& s = S();
    if (s.select_at < 0) return;
    const int at = s.select_at;
    s.select_at = -1;
    if (!s.sql_list && !(s.table_named && (clause_follows || inline_comment_))) return;
    if (s.kind != Frame::kTop) {
      Found(Reason::kSubquery, Anchor(at), i);
    } else if (stacked_at_ >= 0) {
      Found(Reason::kStacked, stacked_at_, i);
    } else {
      Found(Reason::kStatement, 0, i);
    }
  }

  // A call or subquery inside a select list (also nested in parentheses) makes it SQL.
  void MarkSelectList() {
    for (int d = depth_; d >= 0; --d) {
      if (scopes_[d].select_at >= 0) {
        scopes_[d].sql_list = true;
        return;
      }
    }
  }

  bool Push(Frame kind, int open) {
    if (depth_ + 1 >= kMaxDepth) {
      stop_ = true;
      return false;
    }
    scopes_[++depth_] = Scope{};
    S().kind = kind;
    S().open = open;
    return true;
  }

  bool CloseScope(int i) {
    JudgeSelect(i, S().clause == Clause::kAfterTable);
    if (Done()) return true;
    const Scope child = S();
    --depth_;
    Scope& s = S();
    s.term_any = true;
    s.term_cmp = s.term_cmp || child.term_cmp;
    s.term_sub = s.term_sub || child.term_sub;
    s.term_literal = s.term_literal || child.term_literal;
    s.term_symbol = s.term_symbol || child.term_symbol;
    s.last_name = false;
    s.last_call = child.kind == Frame::kCall;
    s.alias_ok = s.clause == Clause::kAfterTable;  // FROM (SELECT ...) x
    want_operand_ = false;
    return true;
  }

  void EndOfInput() {
    while (true) {
      CloseTerm(n_, 0);
      if (Done()) return;
      JudgeSelect(n_ - 1, false);
      if (Done()) return;
      if (depth_ == 0) return;
      const Scope child = S();
      --depth_;
      S().term_cmp = S().term_cmp || child.term_cmp;
      S().term_sub = S().term_sub || child.term_sub;
      S().term_literal = S().term_literal || child.term_literal;
      S().term_symbol = S().term_symbol || child.term_symbol;
    }
  }

  // --- statements -------------------------------------------------------------------------

  // A statement keyword where a statement can start: does what follows read as that statement?
  // (SELECT is parsed instead, see StartStatement.) `strict` where text is as likely: at the
  // start of the value or after a word and ";" ("Create user account", "Fixed; delete from
  // cart"), the statement has to be complete: a terminator, a column list, a condition. After a
  // literal and ";" ("1; drop table users") or a quote break-out, the keywords suffice.
  bool StatementSignature(int i, bool strict) const {
    switch (T(i).kw) {
      case kKwInsert: {  // INSERT INTO t (...) VALUES, REPLACE t(a) VALUES, INSERT INTO t SELECT
        int j = i + 1;
        if (Has(j) && T(j).kw == kKwInto) ++j;
        if (!Has(j)) return !strict && j > i + 1;
        if (T(j).type == kFunction) return true;  // t(a, b)
        if (!NameLike(j) || j == i + 1) return false;
        return !strict || (Has(j + 1) && (T(j + 1).kw == kKwValues || T(j + 1).kw == kKwSelect ||
                                          T(j + 1).kw == kKwSet || Terminated(j + 1)));
      }
      case kKwUpdate:  // UPDATE t SET c = ...
        if (!NameLike(i + 1) || !Has(i + 2) || T(i + 2).kw != kKwSet) return false;
        return !strict || (Has(i + 4) && (T(i + 4).flags & kFlagCmp));
      case kKwDelete:  // DELETE FROM t [WHERE ...]
        if (!Has(i + 1) || T(i + 1).kw != kKwFrom) return false;
        if (!Has(i + 2)) return !strict;
        if (!NameLike(i + 2)) return false;
        return !strict || Terminated(i + 3) || (Has(i + 3) && T(i + 3).kw == kKwWhere);
      case kKwDrop:
      case kKwCreate:
      case kKwAlter: {
        // DROP TABLE t;  CREATE TABLE t (...);  ALTER TABLE t ADD ...;  TRUNCATE [TABLE] t
        int j = i + 1;
        if (Has(j) && T(j).type == kName && T(j).len < 16) {
          char buf[16];
          const std::string_view w = Text(j);
          for (std::size_t k = 0; k < w.size(); ++k) buf[k] = Lower(w[k]);
          if (InList(std::string_view(buf, w.size()), kSchemaObjects)) {
            ++j;
            if (!Has(j)) return !strict;                               // "drop table" cut
            if (T(j).kw == kKwInsert || TextIs(j, "if")) return true;  // OR REPLACE, IF EXISTS
            if (T(j).type == kFunction) return true;  // CREATE FUNCTION f(...), TABLE t(...)
            if (!NameLike(j) && T(j).type != kVariable) return false;
            const bool qualified = (T(j).flags & (kFlagQualified | kFlagBacktick)) != 0;
            ++j;
            if (T(i).kw == kKwAlter) {
              return !strict || qualified ||
                     (Has(j) && (TextIs(j, "add") || TextIs(j, "drop") || TextIs(j, "modify") ||
                                 TextIs(j, "change") || TextIs(j, "rename") || TextIs(j, "owner") ||
                                 T(j).kw == kKwAlter || T(j).kw == kKwDrop || T(j).kw == kKwSet));
            }
            if (Ends(j) && Has(j)) return true;  // DROP TABLE t;  DROP TABLE t--
            if (!Has(j)) return !strict || qualified;
            return T(j).type == kOpen || (!strict && (T(j).type == kComma || T(j).kw == kKwAs));
          }
        }
        return TextIs(i, "truncate") && NameLike(i + 1) && Ends(i + 2) && !(strict && !Has(i + 2));
      }
      case kKwExec:  // EXEC xp_cmdshell 'dir'; EXEC('...'); EXEC @sql; EXECUTE IMMEDIATE
        if (T(i).flags & kFlagDanger) return true;
        if (!Has(i + 1)) return false;
        // EXEC('...') at the start of a value is as likely JavaScript's exec('cmd', cb).
        if (T(i + 1).type == kOpen) {
          return !strict || (Has(i + 2) && T(i + 2).type == kVariable);  // EXEC (@sql)
        }
        if (T(i + 1).type == kVariable) return true;
        // EXEC 'x': not the literal the application's quote closes ("exec" instruction).
        if (T(i + 1).type == kString) return !IsOpenString(i + 1);
        if (T(i + 1).type == kName || T(i + 1).type == kFunction) {
          // A procedure name: xp_cmdshell, sp_executesql, master.dbo.xp_dirtree, not "plan".
          const std::string_view w = Text(i + 1);
          return w.find('_') != std::string_view::npos || w.find('.') != std::string_view::npos;
        }
        return false;
      case kKwCopy:  // PostgreSQL: COPY (SELECT ...) TO PROGRAM 'id'
        return Has(i + 2) && T(i + 1).type == kOpen && T(i + 2).kw == kKwSelect;
      case kKwDeclare:  // DECLARE @q
        return Has(i + 1) && T(i + 1).type == kVariable;
      case kKwSet:  // SET @q = ...
        return Has(i + 1) && T(i + 1).type == kVariable && Has(i + 2) &&
               ((T(i + 2).flags & kFlagCmp) || Text(i + 2) == ":=");
      case kKwShutdown:  // ; SHUTDOWN --
        return i > 0 && (Ends(i + 1) || TextIs(i + 1, "with"));
      case kKwWaitfor:  // WAITFOR DELAY '0:0:5'
        return (T(i).flags & kFlagDanger) != 0;
      default:
        return false;
    }
  }

  // A statement keyword at `i` where a statement may start. SELECT opens a select list in the
  // current scope; other statements are judged by their signature and end the walk.
  bool StartStatement(int i) {
    Scope& s = S();
    if (T(i).kw == kKwSelect) {
      s.clause = Clause::kSelectList;
      s.select_at = i;
      // "x'; select p": after closing the literal and the statement, any SELECT is one.
      s.sql_list = quoted_ && stacked_at_ >= 0 && depth_ == 0;
      s.table_named = false;
      s.logic = false;
      ResetTerm();
      want_operand_ = true;
      return true;
    }
    // Strict at the start of the value and after "word;"; loose after "1;", "x');" or a quote.
    const bool strict =
        !quoted_ && (stacked_at_ < 0 || (stacked_at_ > 0 && (T(stacked_at_ - 1).type == kName ||
                                                             T(stacked_at_ - 1).type == kKeyword)));
    if (StatementSignature(i, strict)) {
      const Reason r = T(i).kw == kKwWaitfor ? Reason::kDangerous
                       : stacked_at_ >= 0    ? Reason::kStacked
                                             : Reason::kStatement;
      Found(r, stacked_at_ >= 0 ? stacked_at_ : i, i + 1);
    }
    stop_ = true;
    return true;
  }

  // --- the grammar ------------------------------------------------------------------------

  // A dangerous function at `i`: do its arguments read as SQL? "sleep(" alone is a probe and
  // sleep(5), load_file('/etc/passwd'), extractvalue(1,(select ...)) are calls; a word as the
  // argument, "Sleep(ing) beauty", "sleep (8 hours)", is prose.
  bool CallLooksReal(int i) const {
    const int j = i + 2;  // after the "("
    if (!Has(j) || T(j).type == kClose) return true;
    if (T(j).type == kName && !(T(j).flags & kFlagQualified)) return false;
    if (!IsOperandStart(j)) return false;
    if (IsLiteral(j) && Has(j + 1) && T(j + 1).type == kName) return false;
    // BENCHMARK(count, expr) always has its comma; "benchmark(2023)" is a title.
    if (TextIs(i, "benchmark") && IsLiteral(j) && Has(j + 1) && T(j + 1).type == kClose) {
      return false;
    }
    return true;
  }

  // Where an operand is expected.
  bool Operand(int& i) {
    const Token& t = T(i);
    Scope& s = S();
    switch (t.type) {
      case kNumber:
      case kString:
      case kVariable:
      case kName:
        if (s.clause == Clause::kTable) {
          if (t.type != kName || (t.flags & kFlagProse)) return Error();
          s.table_named = true;
          s.clause = Clause::kAfterTable;
          s.alias_ok = true;
          want_operand_ = false;
          return true;
        }
        if (s.clause == Clause::kSelectList &&
            (t.type == kVariable || (t.type == kName && (t.flags & kFlagQualified)))) {
          s.sql_list = true;
        }
        OperandSeen(i);
        s.alias_ok = s.clause == Clause::kSelectList;
        want_operand_ = false;
        return true;
      case kFunction:
        MarkSelectList();
        if ((t.flags & kFlagDanger) && CallLooksReal(i)) {
          Found(Reason::kDangerous, Anchor(i), i + 2);
          if (Done()) return true;
        }
        s.term_any = true;
        s.last_name = false;
        if (s.term_operands++ == 0) s.term_single_ok = true;
        if (!Push(Frame::kCall, i)) return false;
        ++i;  // the "(" that follows belongs to the call
        return true;
      case kOpen:
        if (s.clause == Clause::kTable) {  // FROM (SELECT ...) x
          s.clause = Clause::kAfterTable;
          s.table_named = true;
        }
        s.term_any = true;
        if (s.term_operands++ == 0) s.term_single_ok = true;
        return Push(Frame::kParen, i);
      case kClose:
        if (depth_ > 0 && T(i - 1).type == kOpen) return CloseScope(i);  // "()" and "f()"
        if (i == 0 && !quoted_) {
          // ") or 1=1": the value closes a parenthesis the application opened.
          structure_at_ = 0;
          clause_at_ = 0;
          s.term_any = true;
          want_operand_ = false;
          return true;
        }
        return Error();
      case kOperator:
        if ((t.flags & kFlagStar) &&
            (s.clause == Clause::kSelectList || s.kind == Frame::kCall)) {  // SELECT *, COUNT(*)
          if (s.clause == Clause::kSelectList) s.sql_list = true;
          OperandSeen(i);
          want_operand_ = false;
          return true;
        }
        // A sign, NOT, EXISTS; and any operator first in an unquoted value (-1, /path/1).
        if ((t.flags & kFlagUnary) || (i == 0 && !quoted_)) return true;
        return Error();
      case kLogic:
        if (i == 0 && !quoted_) {
          // "or 1=1": spliced after a complete condition.
          s.logic = true;
          s.leading_logic = true;
          s.left_simple = true;
          s.logic_at = 0;
          structure_at_ = 0;
          return true;
        }
        return Error();
      case kKeyword:
        if (t.kw == kKwCase) {  // CASE WHEN ... END is SQL, not prose
          MarkSelectList();
          return true;
        }
        if (t.kw == kKwQuantifier || t.kw == kKwDistinct) return true;
        if (i == 0 && !quoted_ && t.kw == kKwFrom && Has(1) && T(1).type == kOpen) {
          // "from(select ...)x": spliced into a select list, a derived table follows.
          s.clause = Clause::kTable;
          clause_at_ = 0;
          return true;
        }
        if (i == 0 && !quoted_ && (t.kw == kKwOrderBy || t.kw == kKwWhere || t.kw == kKwLimit)) {
          // "order by if(1=1,1,sleep(1))": spliced after a complete query.
          structure_at_ = 0;
          clause_at_ = 0;
          return true;
        }
        if (t.kw == kKwWhen && i > 0 && T(i - 1).kw == kKwCase) return true;
        if (t.kw == kKwTop && s.clause == Clause::kSelectList) {
          if (Has(i + 1) && T(i + 1).type == kNumber) ++i;
          return true;
        }
        return Error();
      case kStatement:
        if (t.kw == kKwSelect && depth_ > 0 && s.kind == Frame::kParen && T(i - 1).type == kOpen) {
          // (SELECT ...): a subquery, judged by what it selects; the term around it holds one.
          scopes_[depth_ - 1].term_sub = true;
          MarkSelectList();
          return StartStatement(i);
        }
        if (i == 0 && !quoted_) return StartStatement(i);  // the value is a statement
        return Error();
      case kUnion:
        // "union select 1,2" with nothing before it.
        if (i == 0 && !quoted_ && Has(1) && T(1).kw == kKwSelect &&
            (!Has(2) || IsLiteral(2) || T(2).type == kFunction || (T(2).flags & kFlagStar))) {
          Found(Reason::kUnion, 0, 2);
          return true;
        }
        return Error();
      case kSemicolon:
        if (i == 0 && !quoted_ && Has(1) && T(1).type == kStatement) {  // ";drop table t"
          stacked_at_ = 0;
          ++i;
          return StartStatement(i);
        }
        return Error();
      default:
        return Error();
    }
  }

  // After a complete operand.
  bool Operator(int& i) {
    const Token& t = T(i);
    Scope& s = S();
    switch (t.type) {
      case kOperator:
        if (t.kw == kKwNot || t.kw == kKwBinary || t.kw == kKwExists) return Error();
        if (s.clause == Clause::kAfterTable) return Error();
        if (t.flags & kFlagPostfix) {  // x NOTNULL
          s.term_cmp = true;
          return true;
        }
        // Between operands, ~ is PostgreSQL's regex match (a comparison), not bitwise NOT.
        if ((t.flags & kFlagCmp) || Text(i) == "~") {
          s.term_cmp = true;
          s.term_symbol = s.term_symbol || t.kw == kKwNone;
          if (t.kw == kKwBetween) s.between = true;
        }
        s.alias_ok = false;
        want_operand_ = true;
        return true;
      case kLogic:
        if (s.between) {  // BETWEEN x AND y
          s.between = false;
          want_operand_ = true;
          return true;
        }
        if (s.clause == Clause::kAfterTable) return Error();
        CloseTerm(i, kLogic);
        if (Done()) return true;
        if (!s.logic) {
          s.logic = true;
          s.left_simple = !s.term_cmp && !s.last_name && !s.last_call;
          s.logic_at = i;
        }
        ResetTerm();
        if (depth_ == 0) structure_at_ = std::min(structure_at_, i);
        s.alias_ok = false;
        want_operand_ = true;
        return true;
      case kComma:
        CloseTerm(i, kComma);
        if (Done()) return true;
        if (s.clause == Clause::kSelectList) s.sql_list = true;
        if (s.clause == Clause::kAfterTable) s.clause = Clause::kTable;
        ResetTerm();
        s.alias_ok = false;
        want_operand_ = true;
        return true;
      case kClose:
        CloseTerm(i, kClose);
        if (Done()) return true;
        if (depth_ > 0) return CloseScope(i);
        if (!s.logic && s.select_at < 0 && structure_at_ == kMaxTokens &&
            unit_[i] <= kWindow + fold_) {
          // "foo')" / "1))": the value closes parentheses the application opened.
          clause_at_ = std::min(clause_at_, i);
          return true;
        }
        return Error();
      case kUnion: {
        CloseTerm(i, kUnion);
        if (Done()) return true;
        JudgeSelect(i, true);
        if (Done()) return true;
        const Token& prev = T(i - 1);
        int j = i + 1;
        if (Has(j) && T(j).type == kOpen) ++j;
        if (Has(j) && T(j).kw == kKwSelect &&
            (prev.type != kName || (prev.flags & (kFlagQualified | kFlagBacktick)))) {
          Found(Reason::kUnion, Anchor(i), j);
        }
        stop_ = true;
        return true;
      }
      case kSemicolon:
        CloseTerm(i, kSemicolon);
        if (Done()) return true;
        JudgeSelect(i, true);
        if (Done()) return true;
        if (depth_ == 0 && quoted_ && Has(i + 1) && T(i + 1).type == kComment &&
            !CommentQuotes(i + 1)) {
          Found(Reason::kCommentCut, 1, i + 1);  // admin';--
          return true;
        }
        if (depth_ != 0 || !Has(i + 1) || T(i + 1).type != kStatement) {
          stop_ = true;
          return true;
        }
        // A second statement: the top scope starts over.
        scopes_[0] = Scope{};
        stacked_at_ = i;
        ++i;
        return StartStatement(i);
      case kComment:
        CloseTerm(i, kComment);
        if (Done()) return true;
        JudgeSelect(i, true);
        if (Done()) return true;
        if (quoted_ && depth_ == 0) {
          // admin'--   foo')#   x'|email--: the literal closed, valid SQL, then cut off.
          if (!CommentQuotes(i)) Found(Reason::kCommentCut, 1, i);
        } else if (clause_at_ < kMaxTokens) {
          Found(Reason::kCommentCut, clause_at_, i);  // 1) --   1 order by 3#
        }
        stop_ = true;
        return true;
      case kKeyword:
        return Clause_(i);
      case kOpen:
        // "x' (select load_file(...)) '": a subquery right after the literal.
        if (quoted_ && depth_ == 0 && Has(i + 1) && T(i + 1).kw == kKwSelect &&
            (T(i - 1).type == kString || T(i - 1).type == kClose)) {
          want_operand_ = true;
          return Push(Frame::kParen, i);
        }
        return Error();
      case kName:
        if (s.alias_ok && !(t.flags & kFlagProse)) {  // SELECT a b, FROM t x
          s.alias_ok = false;
          return true;
        }
        return Error();
      case kString:
        if (T(i - 1).type == kString) return true;  // 'a' 'b': adjacent literals concatenate
        return Error();
      case kFunction:
        // "x' sleep(5) '": a probe that does not care whether the SQL around it is valid.
        if ((t.flags & kFlagDanger) && quoted_ && T(i - 1).type == kString && CallLooksReal(i)) {
          Found(Reason::kDangerous, Anchor(i), i + 2);
          return true;
        }
        return Error();
      case kStatement:
        // MSSQL runs "1 waitfor delay '0:0:5'" and "x') exec master..xp_cmdshell 'dir'" as a
        // second statement without a ";".
        if (depth_ == 0 &&
            (t.kw == kKwWaitfor || t.kw == kKwExec || t.kw == kKwDeclare || t.kw == kKwShutdown ||
             t.kw == kKwCopy) &&
            StatementSignature(i, false)) {
          Found(t.kw == kKwWaitfor ? Reason::kDangerous : Reason::kStacked, i, i + 1);
          stop_ = true;
          return true;
        }
        return Error();
      default:
        return Error();
    }
  }

  // A clause keyword after an operand.
  bool Clause_(int& i) {
    const Token& t = T(i);
    Scope& s = S();
    switch (t.kw) {
      case kKwFrom:
        if (s.clause != Clause::kSelectList) return Error();
        CloseTerm(i, kKeyword);
        if (Done()) return true;
        s.clause = Clause::kTable;
        want_operand_ = true;
        return true;
      case kKwWhere:
      case kKwOrderBy:
      case kKwLimit:
        CloseTerm(i, kKeyword);
        if (Done()) return true;
        JudgeSelect(i, s.clause == Clause::kAfterTable);
        if (Done()) return true;
        if (depth_ == 0) {
          structure_at_ = std::min(structure_at_, i);
          clause_at_ = std::min(clause_at_, i);
        }
        s.clause = Clause::kExpr;
        s.logic = false;
        ResetTerm();
        s.alias_ok = false;
        want_operand_ = true;
        return true;
      case kKwInto:  // SELECT ... INTO @v
        if (s.clause != Clause::kSelectList || !Has(i + 1) || T(i + 1).type != kVariable) {
          return Error();
        }
        return true;
      case kKwOutfile:  // SELECT ... INTO OUTFILE '/var/www/x.php'
        if (t.flags & kFlagDanger) {
          Found(Reason::kDangerous, Anchor(i), i + 1);
          return true;
        }
        return Error();
      case kKwAs:  // x AS alias;  CAST(x AS CHAR(10))
        if (!Has(i + 1)) return true;
        if (T(i + 1).type == kFunction) {
          want_operand_ = true;
          return true;
        }
        if (T(i + 1).type == kName || T(i + 1).type == kString) {
          ++i;
          s.alias_ok = false;
          return true;
        }
        return Error();
      case kKwSort:  // ORDER BY 1 DESC;  CASE ... END
      case kKwEnd:
        return true;
      case kKwWhen:  // CASE WHEN x THEN y ELSE z END
        want_operand_ = true;
        return true;
      default:
        return Error();
    }
  }

  std::string_view in_;
  const Token* t_;
  int n_;
  char quote_;
  bool quoted_;
  bool inline_comment_;
  int unit_[kMaxTokens] = {};
  Scope scopes_[kMaxDepth];
  int depth_ = 0;
  bool want_operand_ = true;
  int fold_ = 0;
  int stacked_at_ = -1;            // the ";" before the current statement
  int structure_at_ = kMaxTokens;  // first top-level AND/OR, clause keyword or leading ")"
  int clause_at_ = kMaxTokens;     // first top-level clause keyword or ")" closing the app's
  bool error_ = false;
  bool stop_ = false;
  Verdict verdict_;
};

}  // namespace

namespace {

// MySQL's executable comment holding SQL: "/*!", a version number if any, then a SQL keyword, a
// dangerous function or a variable, its letters maybe percent-escaped (`/*!UNION*/`,
// `/*!50000 select`, `/*!(select`, `/*!%55NiOn*/`, `/*!@@version*/`). Only SQL written for MySQL,
// or hiding from a filter, puts one in a value (libinjection flags every "/*!"). Doxygen's
// "/*! text" and C's `#endif /*!HAVE_X*/` stay unflagged.
bool HasMysqlExecutableComment(std::string_view in) noexcept {
  for (std::size_t at = in.find("/*!"); at != std::string_view::npos; at = in.find("/*!", at + 3)) {
    std::size_t i = at + 3;
    const std::size_t version = i;
    while (i < in.size() && IsDigit(static_cast<unsigned char>(in[i]))) ++i;
    if (i > version) {
      while (i < in.size() && IsSpace(static_cast<unsigned char>(in[i]))) ++i;
    }
    while (i < in.size() && in[i] == '(') ++i;
    if (i < in.size() && in[i] == '@') return true;
    char word[kMaxWord];
    std::size_t len = 0;
    while (i < in.size() && len + 1 < kMaxWord) {
      const int escaped = EscapedByteAt(in, i);
      const auto c = static_cast<unsigned char>(escaped >= 0 ? escaped : in[i]);
      const std::size_t step = escaped >= 0 ? 3 : 1;
      if (!IsAsciiLetter(c) && c != '_') break;
      word[len++] = static_cast<char>(c);
      i += step;
    }
    const std::string_view w(word, len);
    if (len > 0 && (FindKeyword(w) != nullptr || IsDangerousFunction(w))) return true;
  }
  return false;
}

}  // namespace

bool DetectSqli(std::string_view input, std::string* fingerprint) noexcept {
  if (fingerprint != nullptr) fingerprint->clear();
  if (HasMysqlExecutableComment(input)) {
    if (fingerprint != nullptr) fingerprint->push_back('X');
    return true;
  }
  // The token buffer starts every call as default tokens, as a fresh array would, but only the
  // tokens the previous call wrote are reset (zeroing all 48 was most of the time spent on a
  // short value). Within a call the readings share it, as they always did.
  thread_local Token tokens[kMaxTokens];
  thread_local int written = 0;
  std::fill(tokens, tokens + written, Token{});
  written = 0;
  // As is, then as the rest of a '...' literal, then of a "..." literal (only when the input
  // holds that quote: otherwise it never leaves the literal).
  for (const char quote : {'\0', '\'', '"'}) {
    if (quote != '\0' && input.find(quote) == std::string_view::npos) continue;
    Lexer lexer(input, tokens);
    const int n = lexer.Run(quote);
    written = std::max(written, n);
    const Verdict v = ShapeChecker(input, tokens, n, quote, lexer.inline_comment()).Run();
    if (v.reason == Reason::kNone) continue;
    if (fingerprint != nullptr) {
      // At most 15 letters: fits std::string's inline buffer, so assigning cannot allocate.
      const int len = std::min({v.end, n, 15});
      for (int k = 0; k < len; ++k) fingerprint->push_back(tokens[k].type);
    }
    return true;
  }
  return false;
}

}  // namespace rampart::waf
