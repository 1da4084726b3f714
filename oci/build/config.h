// The image config blob as the builder edits it: the base image's config read in, changed by the
// Dockerfile's instructions, written out as canonical JSON (sorted keys, no insignificant
// whitespace, empty fields left out), so the same inputs always give the same config digest.
// Only fields with a meaning for images are kept; host-dependent ones (Hostname, container ids,
// docker_version) from the base image are dropped, as BuildKit does.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/image_spec.h"

namespace slipway::oci {

// Docker's shell for shell-form RUN, CMD and ENTRYPOINT when no SHELL instruction says otherwise.
const std::vector<std::string>& default_shell();

// The "config" object: what a container made from the image starts with.
struct RuntimeConfig {
  std::string user;
  std::set<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;         // "K=V" in the order they were set
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::set<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<Healthcheck> healthcheck;
  std::vector<std::string> on_build;  // ONBUILD triggers as written
  std::vector<std::string> shell;     // SHELL; empty means default_shell()
  bool args_escaped = false;
  bool operator==(const RuntimeConfig&) const = default;

  // The value of K in env, if set.
  std::optional<std::string> env_value(std::string_view key) const;
  // Sets K=V, replacing an earlier K in place.
  void set_env(std::string_view key, std::string_view value);
  const std::vector<std::string>& effective_shell() const {
    return shell.empty() ? default_shell() : shell;
  }
};

struct HistoryEntry {
  std::string created;
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  bool operator==(const HistoryEntry&) const = default;
};

struct BuildConfig {
  Platform platform;
  std::string os_version;
  std::string created;  // RFC 3339
  std::string author;
  RuntimeConfig config;
  std::vector<std::string> diff_ids;
  std::vector<HistoryEntry> history;
  bool operator==(const BuildConfig& o) const;
};

// Reads an image config blob (OCI or Docker); the error names the field that is wrong.
Result<BuildConfig> parse_build_config(std::string_view json);

// Canonical JSON of the config blob.
std::string to_canonical_json(const BuildConfig& config);

// RFC 3339 UTC with second precision ("1970-01-01T00:00:00Z") for SOURCE_DATE_EPOCH.
std::string rfc3339_utc(int64_t seconds);

}  // namespace slipway::oci
