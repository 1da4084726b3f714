// `slipway cp` between the host and a container, running or stopped, with Docker's rules for
// where things land: into an existing directory under the source's name, else as the named path
// (whose parent must exist); "SRC/." copies a directory's contents. Container paths are resolved
// inside the container's root (openat2 RESOLVE_IN_ROOT, no magic links): a symlink the container
// made never leads out of it, and nothing is read from or written to proc, sys, cgroup or other
// kernel file systems (a container's /proc/sys is the host's). Symlinks in what is copied are
// copied as symlinks, never followed.
#pragma once

#include <string>

#include "base/error.h"
#include "runtime/container_store.h"

namespace slipway::engine {

struct CopyOptions {
  // -a: keep the source's owner. Else files copied in belong to root (Docker's rule) and files
  // copied out to the user running slipway.
  bool archive = false;
  // -L: follow a symlink named as the source.
  bool follow_link = false;
};

Status copy_into_container(const runtime::ContainerStore& store, const runtime::ContainerRecord& record,
                           const std::string& host_source, const std::string& container_dest,
                           const CopyOptions& options);

Status copy_out_of_container(const runtime::ContainerStore& store, const runtime::ContainerRecord& record,
                             const std::string& container_source, const std::string& host_dest,
                             const CopyOptions& options);

}  // namespace slipway::engine
