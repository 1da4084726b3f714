// Docker's credential helpers (the docker-credential-helpers protocol): `credsStore` and
// `credHelpers` in config.json name a program docker-credential-NAME on PATH that keeps the
// secrets; slipway runs it with `get`, `store` or `erase` and talks JSON over stdin and stdout,
// so a password never appears on a command line or in config.json.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "oci/registry/credentials.h"

namespace slipway::oci {

// The server URL a helper keys the registry by: Docker Hub is "https://index.docker.io/v1/",
// every other registry its host[:port].
std::string helper_server_url(std::string_view registry);

// The helper that holds registry's secret per a config.json text: its credHelpers entry, else
// credsStore; nullopt when the file names none (then `auths` holds the secret).
Result<std::optional<std::string>> credential_helper_for(std::string_view config_json, std::string_view registry);

// `docker-credential-NAME get`: nullopt when the helper has nothing for the registry.
Result<std::optional<Credentials>> helper_get(const std::string& helper, std::string_view registry);
Status helper_store(const std::string& helper, std::string_view registry, const Credentials& creds);
// A registry the helper does not know is success.
Status helper_erase(const std::string& helper, std::string_view registry);

}  // namespace slipway::oci
