// How the builder runs a RUN step. oci/ knows nothing of namespaces or processes: it describes
// the step here and engine/build_runner.h runs it in a container of the runtime.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace slipway::oci {

struct RunStepSpec {
  std::vector<std::string> lower_dirs;  // layer dirs in overlay form, lowest first; at least one
  std::string upper_dir;                // an empty directory that becomes the step's layer
  std::string work_dir;                 // an empty directory on upper_dir's file system
  std::vector<std::string> argv;
  std::vector<std::string> env;  // K=V
  std::string cwd = "/";
  std::string user;              // USER as the Dockerfile has it: uid[:gid] or name[:group]
  std::string network = "none";  // default (the default bridge network) | none | host
  struct File {
    std::string path;  // inside the container
    std::string data;
  };
  std::vector<File> files;  // RUN heredoc scripts: visible read-only, executable
  std::string scratch_dir;  // an empty directory for the runner's own files
};

class RunStepExecutor {
 public:
  virtual ~RunStepExecutor() = default;
  // Runs the step to its end with the build's stdout and stderr and no stdin; the result is the
  // command's exit code (128+N when killed by signal N). Afterwards upper_dir holds exactly what
  // the command changed: what the runner itself put there (mount points) is gone again.
  virtual Result<int> run(const RunStepSpec& spec) = 0;
};

}  // namespace slipway::oci
