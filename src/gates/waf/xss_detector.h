// Cross-site scripting detector behind the WAF gate's @detectXSS operator (CRS rules 941100,
// 941101).
//
// The input is read the ways an application could echo it into a page: as HTML text, as the
// rest of an attribute value (unquoted, '...' and "..."), and as a URL in an href/src
// attribute. Each reading runs a small HTML tokenizer (tags, attributes, comments, the way
// browsers split them) and flags what would start script: a tag that runs or loads code
// (<script, <iframe, <object, <embed, <applet, <base, <link, <meta http-equiv|charset, <style
// with expression(/@import/..., <?import, ...), an event-handler attribute (on...=), a
// javascript:/vbscript:/data:text/html URL in an attribute that loads or navigates (also when
// spelled with entities, tabs or control characters), dangerous CSS in a style attribute, and
// IE conditional comments. Text that only looks like HTML (1<2 and 3>2, <b>, {"a":"<b>"},
// <bob@example.com>) is left alone. DETECTORS.md has the rules and the measured precision and
// recall.
//
// Linear in the input, no allocation, no recursion, no exceptions; any bytes are accepted.
#pragma once

#include <string_view>

namespace rampart::waf {

bool DetectXss(std::string_view input) noexcept;

}  // namespace rampart::waf
