// Query strings and application/x-www-form-urlencoded bodies, split into ARGS the way
// ModSecurity v3 (libmodsecurity, Transaction::extractArguments) splits them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gates/waf/arg.h"

namespace rampart::waf {

// Appends one Arg per `separator`-separated part of `text` to `out`:
//  * "name=value" splits at the first '='; a part without '=' is a name with an empty value;
//  * names and values are URL-decoded with '+' as space (UrlDecodeForm);
//  * empty parts are kept as an Arg with an empty name and value, except one empty part at the
//    very end ("a=1&" gives one Arg, "a=1&&" two), as v3's std::getline-based split does.
// `*invalid_encodings` (if given) is incremented by the number of invalid %-escapes (the engine
// sets URLENCODED_ERROR when it is non-zero). Linear time; never throws except std::bad_alloc.
void ParseUrlEncoded(std::string_view text, char separator, std::vector<Arg>& out,
                     int* invalid_encodings = nullptr);

// v3's urldecode_nonstrict: "%XX" with two hex digits becomes that byte, '+' becomes ' ', and
// every other '%' is kept literally and counted in `*invalid` (if given, incremented).
std::string UrlDecodeForm(std::string_view in, int* invalid = nullptr);

}  // namespace rampart::waf
