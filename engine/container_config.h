// Turns `slipway run` options plus an image's config into a runtime::ContainerSpec, with Docker's
// rules for Entrypoint/Cmd, Env, WorkingDir and User. Pure: no image store, no syscalls beyond
// reading the rootfs's passwd/group through the given reader.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/run_options.h"
#include "engine/user_lookup.h"
#include "runtime/container_spec.h"
#include "runtime/container_store.h"

namespace slipway::engine {

// The parts of an image config that shape a container.
struct ImageDefaults {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string working_dir;
  std::string user;
};

// Docker: --entrypoint replaces the image's Entrypoint and drops its Cmd; a command given on the
// command line replaces Cmd.
std::vector<std::string> resolve_args(const ImageDefaults& image, const RunOptions& options);

// Image env, then -e values on top (same key replaced); "-e K" copies K from `host_env` if set.
std::vector<std::string> merge_env(const std::vector<std::string>& image_env,
                                   const std::vector<std::string>& flags,
                                   const std::map<std::string, std::string>& host_env);

// An --env-file's text (Docker's format): K=V lines, K lines take K from the host's environment,
// blank lines and '#' comments are skipped, nothing is unquoted. `where` names the file in errors
// ("--env-file FILE:3: ...").
Result<std::vector<std::string>> parse_env_file(std::string_view text, std::string_view where);

// --add-host HOST:IP (or HOST=IP) as an /etc/hosts line "IP\tHOST\n".
Result<std::string> parse_add_host(std::string_view spec);

inline constexpr std::string_view kDefaultNetwork = "slipway";

// --net: none | host | container:NAME | a network name ("bridge"/"default": the default network).
struct NetworkChoice {
  enum class Kind { kNone, kHost, kNetwork, kContainer };
  Kind kind = Kind::kNone;
  std::string name;  // network or container name
};
Result<NetworkChoice> parse_net_option(std::string_view net);

// "SRC:DST[:OPTIONS]" with both paths absolute; OPTIONS is a comma list of ro, rw and O (Podman's
// copy-on-write overlay volume: the container writes to a private copy, SRC never changes).
Result<runtime::BindMount> parse_volume(std::string_view spec);

// "512m", "1g", "1048576" -> bytes.
Result<int64_t> parse_memory(std::string_view text);
// "10", "64k", "20m", "1g": bytes; `what` names the value in errors.
Result<int64_t> parse_size(std::string_view text, std::string_view what);
// --storage-opt size=SIZE: the writable layer's size limit in bytes; 0 when not given.
Result<uint64_t> parse_storage_opts(const std::vector<std::string>& opts);
// --log-opt max-size=SIZE and max-file=N (Docker's names), over the defaults.
Result<runtime::LogLimits> parse_log_opts(const std::vector<std::string>& opts);

// Processes a container may have when --pids-limit is not given (Podman's default).
inline constexpr int64_t kDefaultPidsLimit = 2048;

struct ContainerInputs {
  std::string id;
  std::string state_dir;
  std::string data_dir;  // on disk: writable layer and copy-on-write volumes; empty: in state_dir
  std::string cache_dir;
  std::vector<std::string> layer_dirs;  // lowest first; empty with --rootfs
  ImageDefaults image;
  std::map<std::string, std::string> host_env;
};

// Where this root's containers keep bulk data on disk: <root>/containers/<key of the run root>,
// so two run roots that share an image root never see (or collect) each other's data.
std::string container_data_root(const std::string& root, const runtime::ContainerStore& store);

Result<runtime::ContainerSpec> build_container_spec(const RunOptions& options,
                                                    const ContainerInputs& inputs,
                                                    const RootfsReader& rootfs);

}  // namespace slipway::engine
