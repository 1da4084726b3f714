// Registry authentication as pure data: WWW-Authenticate challenges (RFC 7235), Docker's bearer
// token flow (realm, service, scope; token responses) and a per-scope token cache. The HTTP side
// lives in RegistryClient.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/registry/credentials.h"

namespace slipway::oci {

using Clock = std::chrono::steady_clock;

struct AuthChallenge {
  std::string scheme;                         // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;  // lowercase keys: realm, service, scope, error
  std::string param(std::string_view key) const;
};

// Every challenge of a WWW-Authenticate value: `Bearer realm="https://a/token",service="reg",
// scope="repository:app:pull"` or several joined by commas. Quoted values may hold commas and
// backslash escapes.
Result<std::vector<AuthChallenge>> parse_www_authenticate(std::string_view header);

// "repository:app:pull,push".
std::string repository_scope(std::string_view repository, std::string_view actions);

// Scopes as one cache key: sorted, de-duplicated, space separated.
std::string scope_key(std::vector<std::string> scopes);

// The token request of a bearer challenge: realm?service=S&scope=A&scope=B (values escaped).
Result<std::string> token_request_url(const AuthChallenge& challenge,
                                      const std::vector<std::string>& scopes);

struct BearerToken {
  std::string value;
  Clock::time_point expires;
};

// A token server's answer: {"token": ..., "access_token": ..., "expires_in": seconds}. Tokens
// live 60 s unless the answer says otherwise (Docker's token spec).
Result<BearerToken> parse_token_response(std::string_view json, Clock::time_point now);

// "Basic base64(user:pass)".
std::string basic_authorization(const Credentials& credentials);

// Bearer tokens by scope key. A token counts as gone a little before it expires, so that a
// request started with it does not reach the registry after it has lapsed.
class TokenCache {
 public:
  static constexpr std::chrono::seconds kExpiryMargin{10};

  std::optional<std::string> get(const std::string& key, Clock::time_point now) const;
  void put(const std::string& key, BearerToken token);
  void drop(const std::string& key);

 private:
  std::map<std::string, BearerToken> tokens_;
};

// %-escapes everything but RFC 3986 unreserved characters.
std::string url_escape(std::string_view text);

}  // namespace slipway::oci
