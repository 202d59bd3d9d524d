// HTTP message vocabulary shared by the codecs, the pipeline and the gates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/strings.h"

namespace rampart::http {

struct HeaderField {
  std::string_view name;   // as received (case preserved)
  std::string_view value;  // OWS trimmed
};

// A header list whose views point into the connection's read buffer; valid until that request's
// head is released. Lookups are case-insensitive and linear (header counts are small and bounded).
class HeaderList {
 public:
  void clear() noexcept {
    fields_.clear();
    offsets_.clear();
  }
  void reserve(std::size_t n) { fields_.reserve(n); }
  void Add(std::string_view name, std::string_view value) { fields_.push_back({name, value}); }
  std::size_t size() const noexcept { return fields_.size(); }
  const HeaderField& operator[](std::size_t i) const noexcept { return fields_[i]; }
  auto begin() const noexcept { return fields_.begin(); }
  auto end() const noexcept { return fields_.end(); }

  // The first value of `name`, or empty with found=false.
  std::string_view Get(std::string_view name, bool* found = nullptr) const noexcept {
    for (const auto& f : fields_) {
      if (IEquals(f.name, name)) {
        if (found) *found = true;
        return f.value;
      }
    }
    if (found) *found = false;
    return {};
  }
  bool Has(std::string_view name) const noexcept {
    bool found = false;
    Get(name, &found);
    return found;
  }

  // For the codec: fields recorded as offsets from the message start while the head is still
  // arriving (the buffer may move), turned into views once it is complete.
  struct FieldOffsets {
    std::uint32_t name_off, name_len, value_off, value_len;
  };
  void AddOffsets(const FieldOffsets& o) { offsets_.push_back(o); }
  // A field that arrived decoded (HTTP/2): copied to the end of `bytes` and recorded by offset;
  // Resolve(bytes.data()) once the block is complete.
  void AppendCopy(std::string& bytes, std::string_view name, std::string_view value) {
    FieldOffsets o{};
    o.name_off = static_cast<std::uint32_t>(bytes.size());
    o.name_len = static_cast<std::uint32_t>(name.size());
    bytes.append(name);
    o.value_off = static_cast<std::uint32_t>(bytes.size());
    o.value_len = static_cast<std::uint32_t>(value.size());
    bytes.append(value);
    offsets_.push_back(o);
  }
  std::size_t pending_size() const noexcept { return offsets_.size(); }
  void Resolve(const char* message_start) {
    fields_.clear();
    for (const auto& o : offsets_) {
      fields_.push_back(
          {{message_start + o.name_off, o.name_len}, {message_start + o.value_off, o.value_len}});
    }
  }

 private:
  std::vector<HeaderField> fields_;
  std::vector<FieldOffsets> offsets_;
};

// Why a message was refused by the codec. Each maps to one status and one stable reason token.
enum class ParseFailure : std::uint8_t {
  kNone,
  kBadRequest,       // 400 malformed, smuggling-shaped or ambiguous framing
  kUriTooLong,       // 414
  kHeadersTooLarge,  // 431 header bytes or count
  kBodyTooLarge,     // 413
  kBadResponse,      // upstream sent something we cannot forward (502)
};

}  // namespace rampart::http
