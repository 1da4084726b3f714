#include "tests/support/pipeline_helpers.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace slipway::testing {

namespace stdfs = std::filesystem;

GitRepo::GitRepo(const std::string& prefix) : dir_(prefix) { git({"init", "-q", "-b", "main"}); }

CommandResult GitRepo::git(std::vector<std::string> args) const {
  args.insert(args.begin(), {"git", "-C", path(), "-c", "user.name=ci", "-c", "user.email=ci@example.test"});
  return run_command(args);
}

void GitRepo::write(const std::string& rel, const std::string& text) const {
  stdfs::create_directories(stdfs::path(path() + "/" + rel).parent_path());
  std::ofstream(path() + "/" + rel) << text;
}

std::string GitRepo::commit(const std::string& message) const {
  git({"add", "-A"});
  git({"commit", "-q", "-m", message});
  std::string head = git({"rev-parse", "HEAD"}).out;
  return head.substr(0, head.find('\n'));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> pipeline_run_dirs(const std::string& root) {
  std::vector<std::string> dirs;
  std::error_code ec;
  for (auto& e : stdfs::directory_iterator(root + "/pipelines/runs", ec))
    if (!e.path().filename().string().starts_with(".")) dirs.push_back(e.path().string());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

nlohmann::json run_summary(const std::string& run_dir) { return nlohmann::json::parse(read_text(run_dir + "/summary.json")); }

nlohmann::json summary_step(const nlohmann::json& summary, const std::string& name) {
  for (const auto& step : summary["steps"])
    if (step["name"] == name) return step;
  return nlohmann::json();
}

}  // namespace slipway::testing
