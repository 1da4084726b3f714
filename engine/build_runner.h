// Runs the builder's RUN steps in containers of the runtime: an overlay of the stage's layers with
// the step's upper dir on top, the stage's ENV, WORKDIR and USER, the default network (a lease and
// a veth, as `run --net slipway` gets), none or host, no stdin,
// the build's stdout and stderr. While a step runs its container has a record in the run root, so
// `slipway gc` can clean up after a killed build; the record goes when the step ends. Mount
// points the runtime would have to create in the rootfs (/etc/hosts on an image without one) get
// a lower layer of their own, so they never end up in the step's layer.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "oci/build/run_step.h"
#include "runtime/container_store.h"

namespace slipway::engine {

class BuildRunner : public oci::RunStepExecutor {
 public:
  // store_root: the image store root (the seccomp cache lives there). cancel_fd: becomes readable
  // when the build is interrupted; the running step is then killed (-1: never).
  // run_root: where container records go, opened on the first step (see cli's run_root()).
  BuildRunner(std::string store_root, std::function<Result<std::string>()> run_root,
              int cancel_fd = -1)
      : store_root_(std::move(store_root)), run_root_(std::move(run_root)), cancel_fd_(cancel_fd) {}

  Result<int> run(const oci::RunStepSpec& spec) override;

 private:
  std::string store_root_;
  std::function<Result<std::string>()> run_root_;
  std::optional<runtime::ContainerStore> containers_;
  int cancel_fd_;
};

// Paths the runtime creates inside a rootfs as mount targets when the image lacks them, relative
// to the root: the pseudo file systems and the generated /etc files.
const std::vector<std::string>& runtime_mount_stubs();

// Fills stub_dir, an empty directory, with the mount targets the lower layers lack (dangling
// symlinks followed, as the runtime follows them), their parent directories copying the lower
// layers' metadata. Stacked as the top lower layer, it keeps the runtime from creating them in
// the upper dir, where they would end up in the step's layer. Returns false when nothing was
// missing (no stub layer needed).
Result<bool> make_mount_stub_layer(const std::string& stub_dir,
                                   const std::vector<std::string>& lower_dirs);

}  // namespace slipway::engine
