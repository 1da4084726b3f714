// The pipeline file (.slipway.yml): YAML text -> PipelineSpec, validated as a whole so the engine
// never meets a typo half way through a run. Every error is one line, "FILE:LINE: what is wrong".
// The format is described in docs/pipeline-file.md.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "pipeline/pipeline_spec.h"

namespace slipway::pipeline {

// Parses and validates `text`; `file_name` is what error messages and PipelineSpec::file name.
// Unknown keys are errors everywhere: in a pipeline file they are almost always typos.
[[nodiscard]] Result<PipelineSpec> parse_pipeline_file(std::string_view text,
                                                       const std::string& file_name);

// Reads `path` and parses it; a missing or unreadable file is an error naming the path.
[[nodiscard]] Result<PipelineSpec> load_pipeline_file(const std::string& path);

// The environment called `name`; an unknown name is an error that lists the known ones.
[[nodiscard]] Result<const EnvironmentSpec*> find_environment(const PipelineSpec& spec,
                                                              const std::string& name);

}  // namespace slipway::pipeline
