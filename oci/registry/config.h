// Registry settings of a slipway root, in <root>/registries.json with the keys of Docker's
// daemon.json:
//   {"registry-mirrors": ["https://mirror.example"], "insecure-registries": ["reg.local:5000"]}
// Mirrors serve Docker Hub images and are tried in order before Docker Hub itself; insecure
// registries are spoken to over plain HTTP.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/registry/reference.h"

namespace slipway::oci {

struct RegistryMirror {
  std::string host;  // host[:port]
  bool plain_http = false;  // an http:// URL
};

struct RegistryConfig {
  std::vector<RegistryMirror> mirrors;
  std::vector<std::string> insecure;  // host[:port]

  bool is_insecure(std::string_view registry) const;
};

// Parses the file's text; `where` names it in errors ("<root>/registries.json: ...").
Result<RegistryConfig> parse_registry_config(std::string_view json, std::string_view where);
// The root's file; no file means no mirrors and no insecure registries.
Result<RegistryConfig> load_registry_config(const std::string& root);

struct PullSource {
  RegistryReference ref;
  bool plain_http = false;
};
// Where to pull `source` from, in order: its mirrors (Docker Hub images only), then itself.
std::vector<PullSource> pull_sources(const RegistryReference& source, const RegistryConfig& config);

}  // namespace slipway::oci
