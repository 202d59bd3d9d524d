#include "gates/ip_list/ip_list.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <sstream>

namespace rampart::ip_list {

namespace {

constexpr PrefixTable::Value kAllow = 0;
constexpr PrefixTable::Value kDeny = 1;
// A lookup takes nanoseconds; a worker would have to stall a minute inside one to see a freed
// table.
constexpr auto kGrace = std::chrono::seconds(60);

std::string Resolve(const std::string& base, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return base + "/" + path;
}

bool ReadWhole(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = std::move(ss).str();
  return !f.bad();
}

}  // namespace

IpList::IpList(std::string name, IpListSpec spec, std::string base_dir)
    : name_(std::move(name)), spec_(std::move(spec)), base_dir_(std::move(base_dir)) {
  default_deny_ = !spec_.allow.empty() || !spec_.allow_files.empty();
}

IpList::~IpList() = default;

std::shared_ptr<IpList> IpList::Build(std::string name, IpListSpec spec, std::string base_dir,
                                      std::string* error) {
  std::shared_ptr<IpList> list(new IpList(std::move(name), std::move(spec), std::move(base_dir)));
  std::vector<FileStamp> stamps;
  auto table = list->Load(stamps, error);
  if (!table) return nullptr;
  list->stamps_ = std::move(stamps);
  list->Install(std::move(table));
  return list;
}

std::vector<IpList::FileStamp> IpList::Stamps() const {
  std::vector<FileStamp> out;
  for (const auto* files : {&spec_.allow_files, &spec_.deny_files}) {
    for (const auto& f : *files) {
      FileStamp s;
      s.path = Resolve(base_dir_, f);
      struct stat st {};
      if (::stat(s.path.c_str(), &st) == 0) {
        s.mtime_ns =
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
        s.size = static_cast<std::uint64_t>(st.st_size);
        s.inode = static_cast<std::uint64_t>(st.st_ino);
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

std::shared_ptr<const PrefixTable> IpList::Load(std::vector<FileStamp>& stamps,
                                                std::string* error) const {
  // Stamps first: a file that changes while it is read is read again on the next check.
  stamps = Stamps();
  PrefixTable::Builder b;
  // Allow entries first, deny after: the same prefix in both is denied (the last one wins).
  for (const auto& c : spec_.allow) {
    if (!b.AddText(c, kAllow, error)) return nullptr;
  }
  auto add_files = [&](const std::vector<std::string>& files, PrefixTable::Value v) {
    std::string text;
    for (const auto& f : files) {
      const std::string path = Resolve(base_dir_, f);
      if (!ReadWhole(path, text)) {
        *error = fmt::format("{}: cannot read the list file", path);
        return false;
      }
      std::string why;
      if (!b.AddListText(text, v, &why)) {
        *error = fmt::format("{}: {}", path, why);
        return false;
      }
    }
    return true;
  };
  if (!add_files(spec_.allow_files, kAllow)) return nullptr;
  for (const auto& c : spec_.deny) {
    if (!b.AddText(c, kDeny, error)) return nullptr;
  }
  if (!add_files(spec_.deny_files, kDeny)) return nullptr;
  return std::make_shared<const PrefixTable>(std::move(b).Build());
}

void IpList::Install(std::shared_ptr<const PrefixTable> table) {
  const auto now = std::chrono::steady_clock::now();
  if (owned_) retired_.emplace_back(now, std::move(owned_));
  owned_ = std::move(table);
  current_.store(owned_.get(), std::memory_order_release);
  std::erase_if(retired_, [&](const auto& r) { return now - r.first > kGrace; });
}

bool IpList::Denies(const boost::asio::ip::address& addr) const noexcept {
  const PrefixTable* t = current_.load(std::memory_order_acquire);
  const std::optional<PrefixTable::Value> v = t ? t->Lookup(addr) : std::nullopt;
  if (!v) return default_deny_;
  return *v == kDeny;
}

std::size_t IpList::prefixes() const noexcept {
  const PrefixTable* t = current_.load(std::memory_order_acquire);
  return t ? t->prefixes() : 0;
}

bool IpList::Refresh() {
  const auto at = std::chrono::steady_clock::now();  // tables past their grace are freed
  std::erase_if(retired_, [&](const auto& r) { return at - r.first > kGrace; });
  if (spec_.allow_files.empty() && spec_.deny_files.empty()) return false;
  const std::vector<FileStamp> now = Stamps();
  if (now == stamps_ || now == refused_) {
    pending_.clear();
    return false;
  }
  // A file written in place (curl -o, a shell redirect) may be caught half-written, and a cut
  // line can still parse ("10.0.0.0/16" cut to "10.0.0.0/1"): a change is loaded only once it
  // held still for a whole check.
  if (now != pending_) {
    pending_ = now;
    return false;
  }
  pending_.clear();
  std::vector<FileStamp> stamps;
  std::string error;
  auto table = Load(stamps, &error);
  if (!table) {
    refused_ = now;
    reloads_failed_.fetch_add(1);
    spdlog::error("ip list '{}': {}; the previous list ({} prefixes) stays in force", name_, error,
                  prefixes());
    return false;
  }
  stamps_ = std::move(stamps);
  refused_.clear();
  Install(std::move(table));
  reloads_ok_.fetch_add(1);
  spdlog::info("ip list '{}': reloaded, {} prefixes", name_, prefixes());
  return true;
}

IpListWatch& IpListWatch::Instance() {
  static IpListWatch w;
  return w;
}

void IpListWatch::Add(const std::shared_ptr<IpList>& list) {
  std::lock_guard lock(mu_);
  lists_.push_back(list);
}

void IpListWatch::RefreshAll() {
  std::vector<std::shared_ptr<IpList>> live;
  {
    std::lock_guard lock(mu_);
    std::erase_if(lists_, [](const std::weak_ptr<IpList>& w) { return w.expired(); });
    for (auto& w : lists_) {
      if (auto l = w.lock()) live.push_back(std::move(l));
    }
  }
  for (auto& l : live) l->Refresh();
}

void IpListWatch::RenderMetrics(std::string& out) {
  std::map<std::string, std::shared_ptr<IpList>> newest;
  {
    std::lock_guard lock(mu_);
    for (auto& w : lists_) {
      if (auto l = w.lock()) newest[l->name()] = std::move(l);
    }
  }
  if (newest.empty()) return;
  out += "# HELP rampart_ip_list_reloads_total IP list files reloaded after a change, by result.\n";
  out += "# TYPE rampart_ip_list_reloads_total counter\n";
  for (const auto& [name, l] : newest) {
    out += fmt::format("rampart_ip_list_reloads_total{{list=\"{}\",result=\"ok\"}} {}\n", name,
                       l->reloads_ok());
    out += fmt::format("rampart_ip_list_reloads_total{{list=\"{}\",result=\"refused\"}} {}\n", name,
                       l->reloads_failed());
  }
  out += "# HELP rampart_ip_list_prefixes Prefixes in an IP list's table.\n";
  out += "# TYPE rampart_ip_list_prefixes gauge\n";
  for (const auto& [name, l] : newest)
    out += fmt::format("rampart_ip_list_prefixes{{list=\"{}\"}} {}\n", name, l->prefixes());
}

}  // namespace rampart::ip_list
