// Pipeline secrets: NAME=VALUE lines (the --env-file format) in a file on the host that only its
// owner may read, <root>/secrets/<project>.env or `pipeline run --secrets FILE`. A step gets only
// the secrets it names, as environment variables (through an env file on the run root's tmpfs,
// never a command line) or as read-only files under /run/secrets; their values are masked in its
// output (secret_mask.h) and never written to the run's reports.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "pipeline/pipeline_spec.h"

namespace slipway::pipeline {

// Values shorter than this would mask ordinary words in every log (GitLab's limit too).
inline constexpr size_t kMinSecretLength = 8;

struct SecretFile {
  std::string path;
  std::map<std::string, std::string> values;
};

// <root>/secrets/<project>.env
std::string default_secrets_file(const std::string& root, const std::string& project);

// Reads the file: a regular file (not a symlink), owned by root or by the runner's user, that no
// group or other user may read or write. A missing file is an empty set unless `required`.
// Errors name the file and line, never a value.
Result<SecretFile> load_secrets(const std::string& path, bool required);

// The values of the secrets the steps use, checked: each defined, long enough to mask, and
// without a newline when it goes into the environment. Errors name the step and the secret.
Result<std::vector<std::string>> used_secret_values(const PipelineSpec& spec, const std::vector<const StepSpec*>& steps,
                                                    const SecretFile& secrets);

// What a step's container needs for its secrets, written into `dir` (made 0700 on the run root's
// tmpfs): `dir/env` (0600) for the environment ones and `dir/files/NAME` (0400) for the file ones.
struct StepSecretFiles {
  std::string env_file;   // empty: none
  std::string files_dir;  // mounted read-only at /run/secrets; empty: none
};
Result<StepSecretFiles> write_step_secrets(const std::string& dir, const std::vector<SecretUse>& uses,
                                           const SecretFile& secrets);

// Where a runner puts them: <run root>/pipeline-secrets/<pid>-<run>-<step>, removed after the step.
std::string step_secrets_dir(const std::string& run_root, const std::string& run_short_id, const std::string& step);
// For gc: such directories whose runner is dead. Returns their names.
Result<std::vector<std::string>> remove_orphan_secret_dirs(const std::string& run_root);

}  // namespace slipway::pipeline
