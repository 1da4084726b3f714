// `slipway run` without the command line: the image (or plain directory) and the options become
// a container record with its spec, network, data dir and layer lease, which then runs in the
// foreground or under a detached supervisor. A run that fails before the container starts
// leaves nothing reserved: no record, no lease, no data dir.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "engine/image_source.h"
#include "engine/run_options.h"
#include "runtime/launcher.h"

namespace slipway::engine {

struct RunContext {
  std::string root;      // images, networks, container data
  std::string run_root;  // container records and state
  char** argv = nullptr;  // main()'s argv, to re-execute this command unchanged (read-only binary)
  std::map<std::string, std::string> host_env;  // for `-e K` without a value
  ImageSource images;  // progress and notes of a pull; the policy is the options' --pull
  // Called just before a foreground container starts, once pulls and their progress are done
  // (`run -it` puts the user's terminal in raw mode here).
  std::function<void()> before_foreground_start;
};

struct RunResult {
  std::string id;
  std::string name;
  std::optional<runtime::ExitStatus> exit;  // how it ended; nullopt when detached
};

// `slipway start`: a container that exited runs again, detached, with its writable layer, name,
// network options and restart policy; one that runs is left alone.
Status start_existing(const RunContext& context, const std::string& name_or_id);

// The stdio of a container run or exec'd in the foreground: this process's stdin with -i (else
// an empty one), its stdout and stderr, and with -t a terminal whose size follows this one's.
runtime::StdioTargets foreground_stdio(bool interactive, bool tty);

// An error of kind kCommandNotFound or kCommandNotExecutable means the command could not start.
Result<RunResult> run_container(const RunContext& context, RunOptions options);

}  // namespace slipway::engine
