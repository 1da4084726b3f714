// Applies a BuildPlan: stage by stage, each layer step is taken from the layer cache or run (RUN
// through a RunStepExecutor, COPY/ADD/WORKDIR by writing a layer directory), its directory packed
// with write_layer in overlay form, the blob stored and the directory kept as the layer's unpacked form;
// then the target stage becomes an image in the store under the requested names. Nothing is
// named until every step has succeeded, and the build's temp directory goes in every case.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "oci/build/plan.h"
#include "oci/build/run_step.h"
#include "oci/build/sources.h"
#include "oci/store/image_store.h"

namespace slipway::oci {

struct EngineOptions {
  bool no_cache = false;
  std::vector<std::string> tags;                   // names for the image; none leaves it untagged
  std::function<bool()> cancelled;                 // polled between steps and entries
  std::function<void(std::string_view)> progress;  // one line per step
};

struct BuildResult {
  Image image;  // as the store now has it
  std::vector<std::string> warnings;
  int steps = 0;        // instructions done, from the cache or not (FROM not counted)
  int layer_steps = 0;  // of those, RUN, COPY, ADD and WORKDIR
  int cached = 0;       // layer steps taken from the cache
  int containers = 0;   // RUN containers started
};

// PlanInputs over an image store and a build context (read on first use, after .dockerignore).
class StorePlanInputs : public PlanInputs {
 public:
  StorePlanInputs(const ImageStore& store, std::string context_dir, Dockerignore ignore)
      : store_(store), context_dir_(std::move(context_dir)), ignore_(std::move(ignore)) {}

  // FROM images come from `find_image` when set (the engine pulls missing ones there), else
  // from the store.
  std::function<Result<Image>(std::string_view ref)> find_image;
  Result<SourceImage> image(std::string_view ref) override;
  Result<std::string> context_digest(const std::vector<std::string>& sources) override;
  // The context, opened once.
  Result<const ContextTree*> context();

  // Where the digests of the context's files are kept from one build to the next (empty: every
  // build reads every file), and keeping them there.
  std::string digest_cache;
  void save_digest_cache() const {
    if (context_) context_->digests().save();
  }

 private:
  const ImageStore& store_;
  std::string context_dir_;
  Dockerignore ignore_;
  std::unique_ptr<ContextTree> context_;
};

// Builds the plan's target. The caller holds ImageStore::hold_for_build() throughout.
Result<BuildResult> run_build(const BuildPlan& plan, ImageStore& store, StorePlanInputs& inputs,
                              RunStepExecutor& runner, const EngineOptions& options);

}  // namespace slipway::oci
