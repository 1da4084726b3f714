// The OCI image-spec documents slipway reads and writes (index, manifest, config), with the Docker
// v2 equivalents it accepts, as plain structs. Every JSON problem becomes a one-line Error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"

namespace slipway::oci {

inline constexpr std::string_view kMediaTypeOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kMediaTypeOciManifest =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kMediaTypeOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kMediaTypeOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kMediaTypeOciLayerGzip =
    "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kMediaTypeOciLayerZstd =
    "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kMediaTypeDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kMediaTypeDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kMediaTypeDockerConfig =
    "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kMediaTypeDockerLayer =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kMediaTypeDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

inline constexpr std::string_view kAnnotationRefName = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kAnnotationContainerdName = "io.containerd.image.name";

// Largest manifest, index or config slipway reads into memory; real ones are a few KiB.
inline constexpr int64_t kMaxJsonBlobSize = 8 << 20;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  // "linux/amd64" or "linux/arm/v7".
  std::string str() const;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
  std::vector<std::string> urls;
};

struct Manifest {
  std::string media_type;  // as written; may be empty in OCI manifests
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

// An OCI image index or a Docker manifest list.
struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

// HEALTHCHECK: how a container made from the image tells it is healthy.
struct Healthcheck {
  std::vector<std::string> test;  // {"NONE"}, {"CMD", args...} or {"CMD-SHELL", command}
  int64_t interval_ns = 0;        // 0: the runtime's default
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
  bool operator==(const Healthcheck&) const = default;
};

// config.Healthcheck of an image config; nullopt when absent. `what` names it in errors.
Result<std::optional<Healthcheck>> parse_healthcheck(const nlohmann::json& config, std::string_view what);

// The runtime-relevant part of an image config ("config" in the config blob).
struct ImageConfig {
  std::string user;
  std::vector<std::string> env, entrypoint, cmd;
  std::string working_dir, stop_signal;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports, volumes;
  std::optional<Healthcheck> healthcheck;
};

// The whole config blob as far as slipway uses it.
struct ConfigFile {
  Platform platform;
  std::string created;  // RFC 3339, may be empty
  ImageConfig config;
  std::vector<std::string> diff_ids;
};

enum class DocumentKind { kManifest, kIndex };

Result<Manifest> parse_manifest(std::string_view json);
Result<Index> parse_index(std::string_view json);
Result<ConfigFile> parse_config(std::string_view json);

// Manifest or index, decided by the descriptor's media type, else the document's own mediaType,
// else its shape ("manifests" vs "layers").
Result<DocumentKind> detect_document(std::string_view json, std::string_view descriptor_media_type);

// Layer media types slipway can unpack (tar, gzip or zstd; OCI or Docker; distributable or not).
bool is_layer_media_type(std::string_view media_type);
bool is_config_media_type(std::string_view media_type);

// The platform this binary runs on, in OCI terms (linux/amd64 here).
Platform host_platform();

// The index entry for `want`: exact os/architecture, the variant preferring an exact match;
// attestation manifests are never chosen. An index without any platform fields and with a single
// manifest yields that manifest. The error lists the platforms the index has.
Result<Descriptor> select_manifest(const Index& index, const Platform& want);

std::string to_json(const Manifest& manifest);
std::string to_json(const Index& index);

}  // namespace slipway::oci
