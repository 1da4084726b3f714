// What the runtime needs to start one container. Plain data, built by the caller (pipeline/ from an
// image config plus flags, or the CLI for --rootfs); the runtime knows nothing of images.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace slipway::runtime {

struct RootfsSpec {
  // Overlay: read-only layer dirs, lowest first, plus a writable upper and work dir.
  std::vector<std::string> lower_dirs;
  std::string upper_dir;
  std::string work_dir;
  // --storage-opt size: the upper and work dir sit on a tmpfs of this many bytes, mounted on
  // writable_dir inside the container's mount namespace (so it goes with the container). 0: they
  // sit on the data dir's file system, unlimited.
  uint64_t writable_size = 0;
  std::string writable_dir;
  // Plain directory used as the rootfs directly (--rootfs); set instead of lower_dirs.
  std::string plain_dir;
  bool read_only = false;
};

struct BindMount {
  std::string source;  // host path
  std::string target;  // path inside the container
  bool read_only = false;
  // Podman's ":O": `source` is only the read-only lower dir of an overlay whose upper and work dirs
  // (in the container's state dir, emptied at every start) take all writes, so the host dir never
  // changes and each start sees it as it is. Constant time whatever the size of `source`.
  bool copy_on_write = false;
  // `{}` keeps {source, target, read_only} initializers free of -Wmissing-field-initializers.
  std::string upper_dir{};  // copy_on_write only
  std::string work_dir{};   // copy_on_write only
  // The host source is a file, so the target is made as a file. Not stored: the launcher finds it
  // out at every start, so that the mount plan makes no syscalls.
  bool source_is_file{};
};

enum class NetworkMode {
  kNone,  // own network namespace with only lo up
  kHost,  // share the host's
  kJoin,  // join an existing namespace (bridge and container: modes)
};

struct NetworkSpec {
  NetworkMode mode = NetworkMode::kNone;
  std::string join_path;  // /proc/PID/ns/net or a bind-mounted netns file, for kJoin
  // The container's /etc/resolv.conf; empty: derived from the host's (see etc_files.h).
  std::string resolv_conf;
  // Lines added to the container's /etc/hosts (its own address on a network).
  std::string extra_hosts;
};

struct ProcessSpec {
  std::vector<std::string> args;  // args[0] without '/' is looked up in PATH from env
  std::vector<std::string> env;   // KEY=VALUE
  std::string cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  bool terminal = false;  // stdio is a pseudo-terminal (console.h), as the OCI spec's process.terminal
};

enum class SeccompMode { kDefault, kUnconfined, kFile };

struct SecuritySpec {
  uint64_t capabilities = 0;  // bit set of CAP_* numbers
  SeccompMode seccomp = SeccompMode::kDefault;
  std::string seccomp_file;  // for kFile
  bool no_new_privileges = true;
};

struct ResourceSpec {
  std::optional<int64_t> memory_bytes;
  std::optional<double> cpus;
  std::optional<int64_t> pids;
  bool pids_is_default = false;  // see CgroupLimits::pids_optional
};

struct ContainerSpec {
  std::string id;  // 64 hex
  std::string hostname;
  std::string state_dir;  // the container's own dir: rootfs mount point, generated /etc files
  std::string cache_dir;  // the runtime's cache (compiled seccomp filters); empty: no cache
  RootfsSpec rootfs;
  std::vector<BindMount> binds;
  ProcessSpec process;
  NetworkSpec network;
  SecuritySpec security;
  ResourceSpec resources;
  bool init = false;  // run a minimal PID 1 that reaps zombies and forwards signals
};

}  // namespace slipway::runtime
