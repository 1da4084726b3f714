#include "oci/registry/auth.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "base/ascii.h"

namespace slipway::oci {

namespace {

constexpr std::chrono::seconds kDefaultTokenLifetime{60};

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A cursor over a header value with the few token rules RFC 7235 needs.
class HeaderCursor {
 public:
  explicit HeaderCursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void skip_space() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  void skip_separators() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string_view token() {
    size_t start = i_;
    while (!done() && is_tchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  // An unquoted parameter value: up to the next comma or space.
  std::string_view bare() {
    size_t start = i_;
    while (!done() && s_[i_] != ',' && s_[i_] != ' ' && s_[i_] != '\t') ++i_;
    return s_.substr(start, i_ - start);
  }
  void advance() { ++i_; }
  Result<std::string> quoted() {
    ++i_;  // opening quote
    std::string out;
    while (!done()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) break;
        c = s_[i_++];
      }
      out += c;
    }
    return fail("unterminated quoted string");
  }
  size_t pos() const { return i_; }
  void seek(size_t p) { i_ = p; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::string AuthChallenge::param(std::string_view key) const {
  auto it = params.find(std::string(key));
  return it == params.end() ? std::string() : it->second;
}

Result<std::vector<AuthChallenge>> parse_www_authenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  HeaderCursor c(header);
  c.skip_separators();
  while (!c.done()) {
    std::string_view scheme = c.token();
    if (scheme.empty())
      return fail("WWW-Authenticate '{}': expected an auth scheme at offset {}", header, c.pos());
    AuthChallenge ch;
    ch.scheme = ascii_lower(scheme);
    c.skip_space();
    // Parameters until a name without '=': that name is the next challenge's scheme. (The token68
    // form of RFC 7235 is not used by registries and not supported.)
    for (;;) {
      c.skip_separators();
      if (c.done()) break;
      size_t mark = c.pos();
      std::string_view name = c.token();
      c.skip_space();
      if (name.empty() || c.peek() != '=') {
        if (name.empty())
          return fail("WWW-Authenticate '{}': unexpected '{}' at offset {}", header, c.peek(),
                      c.pos());
        c.seek(mark);
        break;
      }
      c.advance();  // '='
      c.skip_space();
      std::string value;
      if (c.peek() == '"') {
        auto q = c.quoted();
        if (!q) return fail("WWW-Authenticate '{}': {}", header, q.error().message());
        value = std::move(*q);
      } else {
        value = std::string(c.bare());
      }
      ch.params[ascii_lower(name)] = std::move(value);
    }
    out.push_back(std::move(ch));
  }
  if (out.empty()) return fail("WWW-Authenticate is empty");
  return out;
}

std::string repository_scope(std::string_view repository, std::string_view actions) {
  return fmt::format("repository:{}:{}", repository, actions);
}

std::string scope_key(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
  std::string out;
  for (const auto& s : scopes) {
    if (s.empty()) continue;
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

std::string url_escape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

Result<std::string> token_request_url(const AuthChallenge& challenge,
                                      const std::vector<std::string>& scopes) {
  std::string realm = challenge.param("realm");
  if (realm.empty()) return fail("bearer challenge without a realm");
  if (!realm.starts_with("https://") && !realm.starts_with("http://"))
    return fail("bearer realm '{}' is not an http(s) URL", realm);
  std::string url = realm;
  char sep = realm.find('?') == std::string::npos ? '?' : '&';
  auto add = [&](std::string_view key, std::string_view value) {
    url += fmt::format("{}{}={}", sep, key, url_escape(value));
    sep = '&';
  };
  if (std::string service = challenge.param("service"); !service.empty()) add("service", service);
  std::string key = scope_key(scopes);
  size_t start = 0;
  while (start < key.size()) {
    size_t end = key.find(' ', start);
    if (end == std::string::npos) end = key.size();
    add("scope", std::string_view(key).substr(start, end - start));
    start = end + 1;
  }
  return url;
}

Result<BearerToken> parse_token_response(std::string_view json, Clock::time_point now) {
  auto doc = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail("token response is not a JSON object");
  BearerToken t;
  for (const char* field : {"token", "access_token"}) {
    auto it = doc.find(field);
    if (it != doc.end() && it->is_string() && !it->get<std::string>().empty()) {
      t.value = it->get<std::string>();
      break;
    }
  }
  if (t.value.empty()) return fail("token response has no token");
  std::chrono::seconds lifetime = kDefaultTokenLifetime;
  if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number() && *it > 0)
    lifetime = std::chrono::seconds(it->get<int64_t>());
  t.expires = now + lifetime;
  return t;
}

std::string basic_authorization(const Credentials& credentials) {
  return "Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

std::optional<std::string> TokenCache::get(const std::string& key, Clock::time_point now) const {
  auto it = tokens_.find(key);
  if (it == tokens_.end() || now + kExpiryMargin >= it->second.expires) return std::nullopt;
  return it->second.value;
}

void TokenCache::put(const std::string& key, BearerToken token) {
  tokens_[key] = std::move(token);
}

void TokenCache::drop(const std::string& key) {
  tokens_.erase(key);
}

}  // namespace slipway::oci
