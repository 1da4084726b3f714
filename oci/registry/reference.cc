#include "oci/registry/reference.h"

#include <arpa/inet.h>

#include "oci/reference.h"

namespace slipway::oci {

namespace {

bool looks_like_host(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost";
}

// "host:port" -> "host"; a bare or bracketed IPv6 address keeps its colons.
std::string_view host_part(std::string_view registry) {
  if (registry.starts_with('[')) {
    auto close = registry.find(']');
    return close == std::string_view::npos ? registry : registry.substr(1, close - 1);
  }
  if (registry.find(':') != registry.rfind(':')) return registry;  // bare IPv6
  return registry.substr(0, registry.find(':'));
}

}  // namespace

Result<RegistryReference> parse_registry_reference(std::string_view text) {
  // parse_reference checks the grammar (and the digest) and drops Docker Hub's implicit parts.
  Reference ref = SLW_TRY(parse_reference(text));
  RegistryReference out;
  out.tag = ref.tag;
  out.digest = ref.digest;
  std::string_view name = ref.name;
  auto slash = name.find('/');
  if (slash != std::string_view::npos && looks_like_host(name.substr(0, slash))) {
    out.registry = std::string(name.substr(0, slash));
    out.repository = std::string(name.substr(slash + 1));
  } else {
    out.registry = std::string(kDockerHubRegistry);
    out.repository =
        slash == std::string_view::npos ? "library/" + std::string(name) : std::string(name);
  }
  if (out.registry == "index.docker.io" || out.registry == kDockerHubApiHost)
    out.registry = std::string(kDockerHubRegistry);
  return out;
}

std::string RegistryReference::api_host() const {
  return registry == kDockerHubRegistry ? std::string(kDockerHubApiHost) : registry;
}

std::string RegistryReference::manifest_ref() const {
  return digest.empty() ? tag : digest;
}

std::string RegistryReference::name() const {
  return normalize_name(registry + "/" + repository);
}

std::string RegistryReference::str() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

bool is_loopback_registry(std::string_view registry) {
  std::string host(host_part(registry));
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  in_addr v4;
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (::inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace slipway::oci
