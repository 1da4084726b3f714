// A containerd of the test's own (Debian's 1.6): its config, root, state and socket in a temporary
// directory, stopped with every shim it started when the test ends. `ctr` talks to it in a
// namespace named after the test process.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace slipway::testing {

class ContainerdPeer {
 public:
  ContainerdPeer();
  ~ContainerdPeer();
  ContainerdPeer(const ContainerdPeer&) = delete;
  ContainerdPeer& operator=(const ContainerdPeer&) = delete;

  // Empty when it runs; else why it could not be started.
  const std::string& failure() const { return failure_; }
  // `ctr -a SOCKET -n NAMESPACE args...`.
  CommandResult ctr(const std::vector<std::string>& args, const std::string& input = "") const;
  std::vector<std::string> ctr_argv(const std::vector<std::string>& args) const;
  // A directory of its own for the OCI runtime's state (ctr run --runc-root).
  const std::string& runc_root() const { return runc_root_; }
  const std::string& dir() const { return dir_->path(); }
  const std::string& ns() const { return namespace_; }

 private:
  std::unique_ptr<TempDir> dir_;
  std::string socket_, runc_root_, namespace_, failure_;
  pid_t pid_ = -1;
};

}  // namespace slipway::testing
