#include "gates/waf/macro.h"

#include <cctype>

namespace rampart::waf {

const std::string& Macro::Literal() const noexcept {
  static const std::string kEmpty;
  return parts.empty() ? kEmpty : parts.front().text;
}

Macro ParseMacro(std::string_view text) {
  Macro m;
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '%' && i + 1 < text.size() && text[i + 1] == '{') {
      const auto close = text.find('}', i + 2);
      if (close != std::string_view::npos) {
        if (!literal.empty()) m.parts.push_back({std::move(literal), {}, false});
        literal.clear();
        std::string_view ref = text.substr(i + 2, close - i - 2);
        MacroPart p;
        p.is_ref = true;
        const auto dot = ref.find_first_of(".:");
        std::string_view name = dot == std::string_view::npos ? ref : ref.substr(0, dot);
        for (char c : name)
          p.text.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        if (dot != std::string_view::npos) {
          for (char c : ref.substr(dot + 1)) {
            p.key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
          }
        }
        m.parts.push_back(std::move(p));
        i = close + 1;
        continue;
      }
    }
    literal.push_back(text[i++]);
  }
  if (!literal.empty() || m.parts.empty()) m.parts.push_back({std::move(literal), {}, false});
  return m;
}

}  // namespace rampart::waf
