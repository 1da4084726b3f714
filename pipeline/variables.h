// CI variables with GitLab's names, so scripts carry over, and `${NAME}` interpolation in the
// pipeline file (Woodpecker's rule): `${NAME}` is replaced at plan time, `$$` is a literal `$`,
// and any other `$` is left to the step's shell (`$HOME`, `$(date)`). An undefined name is an
// error naming it, never an empty string.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/error.h"

namespace slipway::pipeline {

struct CommitFacts {
  std::string sha;        // 40 hex
  std::string branch;     // empty for a tag or a detached commit
  std::string tag;        // empty unless the run is for a tag
  std::string message;    // the full commit message
  int64_t timestamp = 0;  // committer time, seconds since the epoch
};

struct RunFacts {
  CommitFacts commit;
  std::string pipeline_id;  // the run's id
  std::string project;      // the app's name (or the repository's directory name)
  std::string environment;  // testing, staging...
};

// CI=true, CI_COMMIT_SHA, CI_COMMIT_SHORT_SHA (8 hex, as GitLab), CI_COMMIT_BRANCH, CI_COMMIT_TAG
// (unset when empty, as GitLab), CI_COMMIT_MESSAGE, CI_COMMIT_TIMESTAMP (ISO 8601 UTC),
// CI_PIPELINE_ID, CI_PROJECT_NAME, CI_ENVIRONMENT_NAME. CI_JOB_NAME is per step: with_job().
std::map<std::string, std::string> ci_variables(const RunFacts& facts);
std::map<std::string, std::string> with_job(std::map<std::string, std::string> vars, const std::string& job);

// `${NAME}` replaced from vars; NAME is [A-Za-z_][A-Za-z0-9_]*. Errors: "undefined variable
// ${NAME}", "unterminated ${", "invalid variable name ${...}".
Result<std::string> interpolate(std::string_view text, const std::map<std::string, std::string>& vars);

}  // namespace slipway::pipeline
