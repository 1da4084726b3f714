// slipway as an OCI runtime: runc's create/start/state/kill/delete model over a state directory
// per container (--root, default /run/slipway-runc). `create` starts the container's process
// through the same launcher as `slipway run` and leaves it waiting just before exec on a FIFO in
// that directory; `start` opens the FIFO and it goes on. No daemon: between commands the process
// belongs to whoever called create (containerd's shim, conmon), as under runc.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/oci_config.h"

namespace slipway::engine {

enum class OciStatus { kCreating, kCreated, kRunning, kPaused, kStopped };
std::string_view to_string(OciStatus s);

// What the runtime keeps of one container (<root>/<id>/state.json).
struct OciRecord {
  std::string oci_version;
  std::string id;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  std::string cgroup_name;
  std::map<std::string, std::string> annotations;
  bool has_process = true;  // false: config.json had no `process`; it can never start
};

struct OciState {
  OciRecord record;
  OciStatus status = OciStatus::kStopped;
};

// The `state` JSON of the runtime spec (ociVersion, id, status, pid, bundle, annotations) plus
// runc's rootfs and created.
std::string oci_state_json(const OciState& state);

struct OciCreateOptions {
  std::string bundle = ".";
  std::string pid_file;        // the container's PID 1, written once it is created
  std::string console_socket;  // a unix socket the pty master is sent to (process.terminal)
  int preserve_fds = 0;        // fds 3 .. 3+N-1 of the caller go to the container too
};

// `exec`: a process given as a JSON file (--process, containerd's way) or on the command line.
struct OciExecOptions {
  std::string process_file;
  std::vector<std::string> args;
  std::vector<std::string> env;  // added to the bundle's process env
  std::string cwd;
  std::optional<std::pair<uid_t, gid_t>> user;
  bool tty = false;
  std::string console_socket;
  bool detach = false;
  std::string pid_file;
};

class OciRuntime {
 public:
  // The runtime's state directory, made 0700 if missing. `cache_dir`: compiled seccomp filters.
  static Result<OciRuntime> open(std::string root, std::string cache_dir);

  // Sets the container up and leaves its process waiting for start(); returns its pid. Warnings
  // for fields slipway cannot honour are logged. A failure leaves nothing behind.
  Result<pid_t> create(const std::string& id, const OciCreateOptions& options);
  Status start(const std::string& id);
  Result<OciState> state(const std::string& id) const;
  Result<std::vector<OciState>> list() const;
  // `all`: every process of the container's cgroup, not only PID 1.
  Status kill(const std::string& id, int signal, bool all);
  // Removes a stopped container (`force`: a created or running one too, killed first); runs the
  // poststop hooks.
  Status remove(const std::string& id, bool force);
  Result<std::vector<pid_t>> pids(const std::string& id) const;
  // Runs a process in a created or running container: its exit code, or 0 once it runs with
  // detach.
  Result<int> exec(const std::string& id, const OciExecOptions& options);
  // New resource limits (a linux.resources JSON object) for a running container.
  Status update(const std::string& id, std::string_view resources_json);
  // One stats event as runc prints it: {"type":"stats","id":...,"data":{cpu, memory, pids}}.
  Result<std::string> stats_event(const std::string& id) const;
  Status pause(const std::string& id);
  Status resume(const std::string& id);

  const std::string& root() const { return root_; }

 private:
  OciRuntime(std::string root, std::string cache_dir) : root_(std::move(root)), cache_dir_(std::move(cache_dir)) {}
  std::string dir(const std::string& id) const;
  Result<OciRecord> load(const std::string& id) const;
  Result<OciBundle> load_bundle(const OciRecord& record) const;
  Status claim(const std::string& id, const std::string& config_text) const;
  static OciRecord new_record(const std::string& id, const std::string& bundle, const OciBundle& bundle_config);
  Result<pid_t> create_without_process(const std::string& id, const std::string& bundle, const std::string& text,
                                       const OciBundle& bundle_config);
  std::string root_;
  std::string cache_dir_;
};

// A container ID runc would take: letters, digits, '_', '+', '-', '.', not "." or "..".
[[nodiscard]] Status check_container_id(const std::string& id);

// "KILL", "SIGKILL", "9" -> 9.
[[nodiscard]] Result<int> parse_signal(const std::string& name);

}  // namespace slipway::engine
