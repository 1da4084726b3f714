// Registry references as push and pull take them: host[:port]/repo[:tag|@digest], with Docker's
// defaults (no host means docker.io, a one-part Docker Hub name lives under library/) and
// loopback detection for the plain-HTTP default.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::oci {

inline constexpr std::string_view kDockerHubRegistry = "docker.io";
// Where the Docker Hub API actually answers.
inline constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";

struct RegistryReference {
  std::string registry;    // "127.0.0.1:5000", "ghcr.io", "docker.io"
  std::string repository;  // "team/app", "library/busybox"
  std::string tag;         // empty only when a digest was given without a tag
  std::string digest;      // "sha256:..." or empty

  // host[:port] the HTTP API is reached at.
  std::string api_host() const;
  // What /v2/<repo>/manifests/<ref> takes: the digest when there is one, else the tag.
  std::string manifest_ref() const;
  // "127.0.0.1:5000/app:1", "busybox:latest"; with "@digest" when one was given.
  std::string str() const;
  // "registry/repository" without tag or digest, Docker Hub names shortened ("busybox").
  std::string name() const;
};

// Parses host[:port]/repo[:tag|@digest]; the tag defaults to "latest" when neither is given.
// The first path part is a host when it contains '.' or ':' or is "localhost", as in Docker.
Result<RegistryReference> parse_registry_reference(std::string_view text);

// True for localhost, 127.0.0.0/8 and ::1 (with or without a port): registries that Docker talks
// plain HTTP to by default.
bool is_loopback_registry(std::string_view registry);

}  // namespace slipway::oci
