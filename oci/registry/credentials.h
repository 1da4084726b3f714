// Registry credentials: `--creds-file FILE` (USER:PASSWORD), or Docker's config.json
// (~/.docker/config.json, or $DOCKER_CONFIG/config.json) as `docker login` and `slipway login`
// write it: a credential helper named by credHelpers or credsStore (credential_helper.h), else
// the `auths` section.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::oci {

struct Credentials {
  std::string username;
  std::string password;
};

// "USER:PASS"; the password may itself contain ':'.
Result<Credentials> parse_creds(std::string_view text);

// The credentials that a config.json text holds for registry ("127.0.0.1:5000", "docker.io"):
// an `auths` entry keyed by the host, with or without scheme and path ("https://host/v1/"),
// holding a base64 "user:pass" `auth` or `username` and `password`. nullopt when there is none.
Result<std::optional<Credentials>> find_docker_credentials(std::string_view config_json,
                                                           std::string_view registry);

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::string docker_config_path();

// The credentials config.json gives registry: from its credential helper if it names one, else
// find_docker_credentials. A missing file means no credentials.
Result<std::optional<Credentials>> load_docker_credentials(std::string_view registry);

// `login`: stores creds for registry in its credential helper (config.json keeps an empty auths
// entry, as Docker's does) or, without one, base64 in `auths`. config.json is written 0600.
Status save_docker_login(std::string_view registry, const Credentials& creds);
// `logout`: erases them from both places; false when there was nothing to erase.
Result<bool> remove_docker_login(std::string_view registry);

// Base64 (RFC 4648, with padding) of data, and back; decoding rejects malformed input.
std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace slipway::oci
