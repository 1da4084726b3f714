// `slipway build` without the command line: a Dockerfile and a context directory become an image
// in the store, tagged, and optionally written out as oci:DIR, oci-archive:FILE or
// docker-archive:FILE. RUN steps run in containers of the runtime (build_runner.h).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "engine/image_source.h"
#include "oci/build/engine.h"

namespace slipway::engine {

struct ImageBuild {
  std::string root;  // the image store
  std::function<Result<std::string>()> run_root;  // where RUN steps' container records go
  std::string context;
  std::string file;  // the Dockerfile; empty: CONTEXT/Dockerfile, resolved inside the context
  std::vector<std::string> tags;
  oci::VarMap build_args;
  std::string target;  // stage; empty: the last
  // RUN steps': default (the default bridge network, with egress, as Docker's), none or host.
  std::string network = "default";
  bool no_cache = false;
  std::vector<std::string> outputs;  // TYPE:PATH
  int cancel_fd = -1;  // turns readable when the build is cancelled: kills the running RUN step
  std::function<bool()> cancelled;  // polled between steps
  std::function<void(std::string_view)> progress;  // one line per step; empty: quiet
  std::function<void(std::string_view)> warn;      // plan warnings
  ImageSource images;  // how FROM images are found: pulled when missing by default
};

Result<oci::BuildResult> build_image(const ImageBuild& build);

// SOURCE_DATE_EPOCH: --build-arg SOURCE_DATE_EPOCH (as BuildKit takes it), the environment, the
// commit time of the context's git work tree, else 0.
Result<int64_t> source_date_epoch(const oci::VarMap& build_args, const std::string& context);

}  // namespace slipway::engine
