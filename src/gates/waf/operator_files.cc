// Data files of @pmFromFile / @ipMatchFromFile, and the white-space splitting @pm shares.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gates/waf/operator_internal.h"

namespace rampart::waf::op_internal {

bool ReadOperatorFile(std::string_view rules_dir, std::string_view name, std::string* contents,
                      std::string* error) {
  // v3 (utils::find_resource) tries the name relative to the process's working directory first
  // and the rule file's directory second; we only use the rule file's directory, so that what a
  // rule loads does not depend on where the gateway was started.
  std::string path;
  if (!name.empty() && name.front() != '/' && !rules_dir.empty()) {
    path.assign(rules_dir);
    if (path.back() != '/') path.push_back('/');
  }
  path.append(name);
  const auto fail = [&](const char* reason) {
    *error = "cannot read " + std::string(name) + ": " + reason;
    return false;
  };
  if (path.find('\0') != std::string::npos) return fail("file name contains a NUL byte");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("not a regular file");
  }
  contents->clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return fail(std::strerror(saved));
    }
    contents->append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return true;
}

std::vector<std::string_view> SplitOnSpace(std::string_view text) {
  // The characters std::isspace accepts in the C locale, which is what v3's
  // std::istream_iterator<std::string> splits @pm's parameter on.
  static constexpr std::string_view kSpace = " \t\n\v\f\r";
  std::vector<std::string_view> out;
  std::size_t pos = text.find_first_not_of(kSpace);
  while (pos != std::string_view::npos) {
    std::size_t end = text.find_first_of(kSpace, pos);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(pos, end - pos));
    pos = text.find_first_not_of(kSpace, end);
  }
  return out;
}

}  // namespace rampart::waf::op_internal
