// Operations on recorded containers: signal, stop, remove, exec, and gc of what dead runtimes left.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "runtime/container_store.h"
#include "runtime/stdio_relay.h"

namespace slipway::runtime {

// True when the record's PID 1 is alive (pid and start time match).
bool container_running(const ContainerState& s);

// Sends sig to the container's PID 1 (through a pidfd, so a reused pid is never hit).
Status signal_container(const ContainerStore& store, const ContainerRecord& record, int sig);

// SIGTERM, then SIGKILL to every process of the container after `grace`; returns once the
// container has exited and its supervisor has recorded the exit.
Status stop_container(const ContainerStore& store, const ContainerRecord& record,
                      std::chrono::milliseconds grace);

// Removes a stopped container (or a running one with force: killed first) and all it holds.
Status remove_container(const ContainerStore& store, const ContainerRecord& record, bool force);

struct ExecOptions {
  std::vector<std::string> args;
  std::vector<std::string> env;  // K=V added to the container's env
  std::string cwd;               // default: the container's working dir
  std::optional<std::pair<uid_t, gid_t>> user;  // default: the container's user
  // Where its stdio goes: pipes (or a terminal, with stdio.terminal) copied to and from these.
  StdioTargets stdio;
  // Return once it runs, leaving it to whoever reaps this process's orphans (the OCI `exec
  // --detach`, under containerd's shim); else wait and return its exit code.
  bool detach = false;
  std::function<Status(pid_t)> started;  // called once it runs (the OCI --pid-file)
};

// Runs a process inside a running container's namespaces and cgroup with the container's
// capabilities, seccomp filter and user; returns its exit code (128+N for signal N).
Result<int> exec_in_container(const ContainerStore& store, const ContainerRecord& record,
                              const ExecOptions& options);

// The container an exec goes into: its PID 1 and cgroup, and the spec whose process (env, cwd,
// user, rlimits) and security (capabilities, seccomp, no_new_privs) the new process starts from.
struct ExecTarget {
  std::string name;  // for messages
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  std::string cgroup_name;
  const ContainerSpec* spec = nullptr;
};
Result<int> exec_process(const ExecTarget& target, const ExecOptions& options);

struct GcReport {
  std::vector<std::string> containers;  // ids of records cleaned up
};

// Cleans up after runtimes that were killed: records whose processes are gone get their cgroup
// removed and are marked exited (or removed, for --rm). Only this store's records are touched, so
// parallel roots (tests, users) never clean up each other's live containers.
Result<GcReport> collect_garbage(const ContainerStore& store);

}  // namespace slipway::runtime
