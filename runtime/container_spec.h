// What the runtime needs to start one container. Plain data, built by the caller (pipeline/ from an
// image config plus flags, or the CLI for --rootfs); the runtime knows nothing of images.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
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

// A mount of the container's own list (an OCI bundle's `mounts`), its options already parsed.
struct MountEntry {
  std::string source{};
  std::string target{};  // absolute path inside the container
  std::string fstype{};  // empty for a bind
  // MS_* flags. A bind (MS_BIND) is made first and remounted with the rest (MS_RDONLY, MS_NOSUID,
  // ...), as the kernel ignores them on the bind itself.
  unsigned long flags{};
  unsigned long propagation{};  // MS_PRIVATE, MS_SHARED, MS_SLAVE or MS_UNBINDABLE, maybe | MS_REC
  std::string data{};             // file-system options: "mode=755,size=65536k"
  // A bind of a file: its target is made as a file. Found out by the launcher, as BindMount's.
  bool source_is_file{};
};

// A device node of the container's own (an OCI bundle's linux.devices).
struct DeviceNode {
  std::string path{};  // absolute, inside the container
  char type = 'c';     // c, b or p (a FIFO)
  unsigned major = 0, minor = 0;
  mode_t mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

// The namespaces a container gets beyond its network (NetworkSpec): CLONE_NEW* flags. Those in
// `create` are new; those in `join` are entered by path; the rest are the runtime's own (an OCI
// bundle that does not list them).
struct NamespaceJoin {
  int type = 0;      // CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP, CLONE_NEWNS or CLONE_NEWPID
  std::string path;  // /proc/PID/ns/ipc, a bind-mounted namespace file
};

// With a user namespace (CLONE_NEWUSER in `create`): container ids [container_id, +size) are
// host ids [host_id, +size).
struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct NamespaceSpec {
  uint64_t create = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
  std::vector<NamespaceJoin> join;
  std::vector<IdMapping> uid_mappings{};
  std::vector<IdMapping> gid_mappings{};
  bool user() const { return (create & CLONE_NEWUSER) != 0; }
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
  struct Rlimit {
    int resource = 0;  // RLIMIT_*
    uint64_t soft = 0;
    uint64_t hard = 0;
  };
  std::vector<Rlimit> rlimits{};         // set in the container before exec
  std::optional<int> oom_score_adj{};    // written for PID 1 before it execs
};

// kProfile: the profile's JSON is in SecuritySpec::seccomp_profile (an OCI bundle's linux.seccomp).
enum class SeccompMode { kDefault, kUnconfined, kFile, kProfile };

// The five capability sets apart, as the OCI spec gives them.
struct CapabilitySets {
  uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
};

struct SecuritySpec {
  uint64_t capabilities = 0;  // bit set of CAP_* numbers
  SeccompMode seccomp = SeccompMode::kDefault;
  std::string seccomp_file;  // for kFile
  bool no_new_privileges = true;
  // Set apart: these instead of `capabilities` in every set (which then only picks the default
  // seccomp rules) and an empty ambient set, Docker's way.
  std::optional<CapabilitySets> capability_sets{};
  std::string seccomp_profile{};  // for kProfile
};

struct ResourceSpec {
  std::optional<int64_t> memory_bytes;
  std::optional<double> cpus;
  std::optional<int64_t> pids;
  bool pids_is_default = false;  // see CgroupLimits::pids_optional
  std::optional<uint64_t> cpu_shares{};
  // An OCI bundle's device rules, in order, before the standard ones: "allow c 10:229 rwm", "deny a".
  std::vector<std::string> device_rules{};
  std::optional<int64_t> cpu_quota_us{};    // with cpu_period_us: as given, instead of `cpus`
  std::optional<uint64_t> cpu_period_us{};
  std::string cpuset_cpus{};
  std::string cpuset_mems{};
  bool cpu_accounting = false;  // see CgroupLimits::cpu_accounting
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

  // What an OCI bundle says for itself; the defaults are slipway's own containers'.
  NamespaceSpec namespaces{};
  // The container's mounts instead of the standard set (proc, /dev with its devices, /dev/pts,
  // /dev/shm, mqueue, sysfs, and /etc/hostname, hosts, resolv.conf). `binds` still follow them.
  std::optional<std::vector<MountEntry>> mounts{};
  std::optional<std::vector<std::string>> masked_paths{};    // nullopt: Docker's
  std::optional<std::vector<std::string>> readonly_paths{};  // nullopt: Docker's
  unsigned long rootfs_propagation = 0;  // 0: private, as Docker's; else MS_SHARED, MS_SLAVE, ...
  std::string domainname{};
  // Namespaced sysctls ("net.ipv4.ip_forward" -> "1"), written inside the container's namespaces.
  std::vector<std::pair<std::string, std::string>> sysctl{};
  std::string cgroup_name{};  // empty: slipway/<id>
  std::vector<DeviceNode> devices{};
  // The OCI create/start split: the container's process stops just before exec and waits until
  // something opens this FIFO for reading (`slipway oci start`); empty: it goes on at once.
  std::string start_fifo{};
};

}  // namespace slipway::runtime
