#include "gates/api_key/admin_endpoints.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/json_strict.h"
#include "core/strings.h"
#include "gates/api_key/api_key_gate.h"

namespace rampart::api_key {

namespace asio = boost::asio;
using admin::AdminError;
using admin::AdminRequest;
using admin::AdminResponse;
using state::KvStatus;

namespace {

constexpr std::chrono::milliseconds kForever = std::chrono::hours(24 * 365 * 10);
constexpr std::int64_t kMaxLife = 10LL * 365 * 86400;  // seconds
constexpr std::size_t kMaxListed = 100'000;

AdminResponse Json(int status, std::string body) {
  return {status, "application/json", std::move(body)};
}
AdminResponse Bad(std::string_view message) {
  return Json(400, AdminError("bad_request", message));
}
AdminResponse Unavailable() {
  return Json(503, AdminError("store_unavailable", "the key store did not answer; try again"));
}

asio::awaitable<AdminResponse> Add(const AdminRequest& req, std::shared_ptr<state::KvStore> store,
                                   const std::vector<ApiKey>& file_keys, std::int64_t (*clock)()) {
  StrictJson json;
  simdjson::dom::element root;
  std::string_view error;
  if (!json.Parse(req.body, root, error) || !root.is_object()) {
    co_return Bad(
        "the body is a JSON object: {\"principal\", \"id\", \"tier\", \"roles\", "
        "\"scopes\", \"expires_in\"}");
  }
  const simdjson::dom::object o = AsObject(root);
  ApiKey k;
  k.principal.assign(JsonString(o, "principal"));
  k.id.assign(JsonString(o, "id"));
  k.tier.assign(JsonString(o, "tier"));
  if (k.principal.empty()) co_return Bad("'principal' names who the key authenticates");
  if (!JsonStringList(o, "roles", k.roles) || !JsonStringList(o, "scopes", k.scopes)) {
    co_return Bad("'roles' and 'scopes' are lists of strings");
  }
  const std::int64_t now = clock();
  k.created = now;
  std::int64_t expires_in = 0;
  if (auto v = o.at_key("expires_in"); !v.error()) {
    if (v.value_unsafe().get_int64().get(expires_in) || expires_in <= 0 || expires_in > kMaxLife) {
      co_return Bad("'expires_in' is a positive number of seconds, at most ten years");
    }
    k.expires = now + expires_in;
  } else if (auto e = o.at_key("expires"); !e.error()) {
    std::string_view s;
    std::int64_t n = 0;
    if (!e.value_unsafe().get_int64().get(n)) {
      k.expires = n;
    } else if (e.value_unsafe().get_string().get(s) || !ParseExpiry(s, k.expires)) {
      co_return Bad("'expires' is 2027-01-01T00:00:00Z or seconds since the epoch");
    }
    if (k.expires <= now) co_return Bad("'expires' is in the past");
    if (k.expires - now > kMaxLife) co_return Bad("'expires' is more than ten years away");
  }
  if (k.id.empty()) k.id = "k_" + RandomToken(9);
  if (!ValidId(k.id)) co_return Bad("'id' is 1-64 of A-Z a-z 0-9 . _ -");
  for (const ApiKey& f : file_keys) {  // one id, one key: ids key rate limits and logs
    if (f.id == k.id) co_return Json(409, AdminError("conflict", "a key with this id exists"));
  }
  const std::string secret = "rk_" + RandomToken(32);  // 256 bits from the CSPRNG
  if (secret.size() < 40) co_return Json(500, AdminError("internal_error", "no randomness"));
  k.hash = Sha256(secret);
  const auto ttl =
      k.expires == 0 ? kForever : std::chrono::milliseconds((k.expires - now) * 1000 + 60'000);
  // The id first, set-if-absent: two keys never share one.
  const KvStatus id = co_await store->SetIfAbsent(IdKey(k.id), Hex(k.hash), ttl, 0);
  if (id == KvStatus::kExists) {
    co_return Json(409, AdminError("conflict", "a key with this id exists"));
  }
  if (id != KvStatus::kOk) co_return Unavailable();
  const KvStatus stored = co_await store->Set(StoreKey(k.hash), ToJson(k, true), ttl, 0);
  if (stored != KvStatus::kOk) {
    const KvStatus undone = co_await store->Delete(IdKey(k.id), 0);
    (void)undone;
    co_return Unavailable();
  }
  spdlog::info("api_key: added key '{}' for principal '{}'", k.id, k.principal);
  std::string body = ToJson(k, false);
  body.pop_back();  // the key, shown this once
  body += ",\"key\":\"" + secret + "\"}\n";
  co_return Json(201, std::move(body));
}

asio::awaitable<AdminResponse> List(std::shared_ptr<state::KvStore> store,
                                    const std::vector<ApiKey>& file_keys) {
  const state::KvResult keys = co_await store->Scan("key:", kMaxListed, 0);
  if (keys.status != KvStatus::kOk) co_return Unavailable();
  std::string out = "{\"keys\":[";
  bool first = true;
  auto add = [&](const ApiKey& k, std::string_view source) {
    if (!first) out += ',';
    first = false;
    std::string item = ToJson(k, false);
    item.pop_back();
    out += item + ",\"source\":\"" + std::string(source) + "\"}";
  };
  for (const ApiKey& k : file_keys) add(k, "file");
  for (const std::string& key : keys.keys) {
    const state::KvResult r = co_await store->Get(key, 0);
    if (r.status == KvStatus::kUnavailable) co_return Unavailable();
    ApiKey k;
    std::string error;
    if (r.status == KvStatus::kOk && FromJson(r.value, k, error)) add(k, "store");
  }
  out += "]}\n";
  co_return Json(200, std::move(out));
}

asio::awaitable<AdminResponse> Revoke(const AdminRequest& req,
                                      std::shared_ptr<state::KvStore> store) {
  StrictJson json;
  simdjson::dom::element root;
  std::string_view error;
  if (!json.Parse(req.body, root, error) || !root.is_object()) {
    co_return Bad("the body is {\"id\": \"...\"}");
  }
  const std::string id(JsonString(AsObject(root), "id"));
  if (!ValidId(id)) co_return Bad("'id' names the key to revoke");
  const state::KvResult hash = co_await store->Get(IdKey(id), 0);
  if (hash.status == KvStatus::kUnavailable) co_return Unavailable();
  Sha256Digest digest{};
  if (hash.status != KvStatus::kOk || !ParseSha256Hex(hash.value, digest)) {
    co_return Json(404, AdminError("not_found",
                                   "no key with this id in the store (keys from a "
                                   "file are revoked by editing it)"));
  }
  const KvStatus key = co_await store->Delete(StoreKey(digest), 0);
  if (key == KvStatus::kUnavailable) co_return Unavailable();
  const KvStatus name = co_await store->Delete(IdKey(id), 0);
  if (name == KvStatus::kUnavailable) co_return Unavailable();
  spdlog::info("api_key: revoked key '{}'", id);
  co_return Json(200, fmt::format("{{\"revoked\":\"{}\"}}\n", id));
}

AdminResponse MethodNotAllowed(std::string_view allowed) {
  return Json(405, AdminError("method_not_allowed", fmt::format("use {}", allowed)));
}

}  // namespace

void AddAdminEndpoints(admin::AdminActions& admin, std::shared_ptr<state::KvStore> store,
                       const std::string& store_key, std::vector<ApiKey> file_keys,
                       std::int64_t (*clock)()) {
  auto files = std::make_shared<const std::vector<ApiKey>>(std::move(file_keys));
  admin.Add("/admin/api_keys", store_key,
            [store, files, clock](const AdminRequest& req) -> asio::awaitable<AdminResponse> {
              if (req.method == "POST") co_return co_await Add(req, store, *files, clock);
              if (req.method == "GET") co_return co_await List(store, *files);
              co_return MethodNotAllowed("GET or POST");
            });
  admin.Add("/admin/api_keys/revoke", store_key,
            [store](const AdminRequest& req) -> asio::awaitable<AdminResponse> {
              if (req.method != "POST") co_return MethodNotAllowed("POST");
              co_return co_await Revoke(req, store);
            });
}

}  // namespace rampart::api_key
