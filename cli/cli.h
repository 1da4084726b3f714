// Shared pieces of the slipway CLI: global options and how sub-commands report their outcome.
// Each sub-command family lives in its own file and registers itself with a register_* function.
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/registry/progress.h"

namespace slipway::cli {

struct GlobalOptions {
  // Persistent state: image store, layer cache (--root / SLIPWAY_ROOT).
  std::string root = "/var/lib/slipway";
  // Per-container state (records, logs, upper dirs) on a tmpfs (--run-root / SLIPWAY_RUN_ROOT);
  // empty: derived from root, see run_root().
  std::string run_root;
  // For run and exec: the container's command line, everything after IMAGE or CONTAINER.
  std::vector<std::string> command;
  // main()'s argv, to re-execute this command unchanged (runtime::reexec_from_readonly_binary).
  char** argv = nullptr;
};

// The container state dir: --run-root if given, else a directory on /run (when it is a tmpfs) or
// /dev/shm named after the root, so separate roots never share containers. Creates it (0700) and
// refuses one that is not a real directory owned by root.
Result<std::string> run_root(const GlobalOptions& global);

// What a sub-command callback leaves behind for main() to return.
struct Outcome {
  int exit_code = 0;
};

// Prints "slipway: error: <message>" on stderr as one line.
void print_error(const Error& e);

// Progress of pulls on stderr: bars on a terminal, one line per blob elsewhere.
std::unique_ptr<oci::TransferProgress> pull_progress();
// "slipway: pulling docker.io/library/busybox:latest from docker.io" on stderr.
void print_note(std::string_view line);

// Runs a sub-command body: on error prints it and sets exit code 125 (Docker's code for "the tool
// itself failed", distinct from the container's own exit codes).
template <class F>
void run_command(Outcome& outcome, F&& body) {
  Result<int> r = body();
  if (!r) {
    print_error(r.error());
    outcome.exit_code = 125;
  } else {
    outcome.exit_code = *r;
  }
}

void register_image_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome);
// This process's environment, for `-e NAME` without a value (run, start).
std::map<std::string, std::string> host_environment();
// `run` alone: it starts every container, and its ~45 options are half of the group's cost.
void register_run_command(CLI::App& app, const GlobalOptions& global, Outcome& outcome);
void register_container_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome);
void register_network_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome);
void register_registry_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome);
void register_build_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome);
void register_pipeline_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome);
void register_prune_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome);
void register_oci_commands(CLI::App& app, const GlobalOptions& global, Outcome& outcome);

}  // namespace slipway::cli
