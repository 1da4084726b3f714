// Helpers of the pipeline e2e tests: a git repository to commit into, and reading what a run
// left (its directory, summary.json, logs).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace slipway::testing {

// A repository in a fresh temporary directory, on branch main.
class GitRepo {
 public:
  explicit GitRepo(const std::string& prefix = "slipway-repo");
  const std::string& path() const { return dir_.path(); }
  CommandResult git(std::vector<std::string> args) const;
  // Writes a file (its directories made) relative to the repository.
  void write(const std::string& rel, const std::string& text) const;
  // Commits everything; returns the commit id.
  std::string commit(const std::string& message = "commit") const;

 private:
  TempDir dir_;
};

std::string read_text(const std::string& path);
// The run directories under root's pipelines/runs, oldest first.
std::vector<std::string> pipeline_run_dirs(const std::string& root);
// A run directory's summary.json.
nlohmann::json run_summary(const std::string& run_dir);
// The step called `name` of a summary, or null.
nlohmann::json summary_step(const nlohmann::json& summary, const std::string& name);

}  // namespace slipway::testing
