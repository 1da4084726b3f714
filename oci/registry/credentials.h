// Registry credentials: `--creds USER:PASS`, or the `auths` section of Docker's config.json
// (~/.docker/config.json, or $DOCKER_CONFIG/config.json), which `docker login` writes.
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

// find_docker_credentials on docker_config_path(); a missing file means no credentials.
Result<std::optional<Credentials>> load_docker_credentials(std::string_view registry);

// Base64 (RFC 4648, with padding) of data, and back; decoding rejects malformed input.
std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace slipway::oci
