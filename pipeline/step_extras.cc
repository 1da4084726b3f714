#include "pipeline/step_extras.h"

#include <unistd.h>

#include <algorithm>

#include <fmt/format.h>

#include "base/fs.h"
#include "base/log.h"
#include "pipeline/cache_key.h"
#include "pipeline/junit_input.h"
#include "pipeline/artifacts.h"

namespace slipway::pipeline {
namespace {

void note(StepLog& log, const std::string& text) {
  (void)!::write(log.fd.get(), (text + "\n").data(), text.size() + 1);
}

std::string in_container(const std::string& path) {
  return path.starts_with('/') ? path : fs::join(kWorkspacePath, path);
}

}  // namespace

Result<std::unique_ptr<StepExtras>> StepExtras::prepare(const PipelineRun& run, const PlannedStep& step,
                                                        StepLog& log) {
  std::unique_ptr<StepExtras> extras(new StepExtras);
  const StepSpec& spec = *step.spec;
  if (!spec.secrets.empty()) {
    extras->secrets_dir_ = step_secrets_dir(run.request().run_root, run.short_id(), spec.name);
    extras->secret_files_ = SLW_TRY(write_step_secrets(extras->secrets_dir_, spec.secrets, run.secrets));
  }
  if (!spec.caches.empty()) {
    std::map<std::string, std::string> vars;
    for (const auto& kv : step.env) vars[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    std::vector<CacheRequest> requests;
    for (const CacheSpec& cache : spec.caches) {
      CacheRequest r;
      r.key = SLW_TRY_CTX(expand_cache_key(cache.key, vars, workspace_checksum(run.checkout.worktree)),
                          "steps.{}.cache", spec.name);
      for (const auto& p : cache.paths) r.paths.push_back(in_container(p));
      requests.push_back(std::move(r));
    }
    extras->caches_ = SLW_TRY(lease_caches(run.request().root, requests));
    for (const auto& n : extras->caches_.notes) note(log, n);
  }
  return extras;
}

StepExtras::~StepExtras() {
  if (secrets_dir_.empty()) return;
  if (auto st = fs::remove_tree(secrets_dir_); !st) log::warn("remove {}: {}", secrets_dir_, st.error().message());
}

void StepExtras::add_to(RunOptions& o) const {
  if (!secret_files_.env_file.empty()) o.env_files.push_back(secret_files_.env_file);
  if (!secret_files_.files_dir.empty()) o.volumes.push_back(secret_files_.files_dir + ":/run/secrets:ro");
  for (const auto& m : caches_.mounts) o.volumes.push_back(m.host_dir + ":" + m.container_path);
}

void collect_step_outputs(const PipelineRun& run, const PlannedStep& step, StepLog& log, StepOutcome& outcome) {
  const StepSpec& spec = *step.spec;
  const std::string& workspace = run.checkout.worktree;
  if (!spec.artifacts.empty()) {
    std::string rel = "artifacts/" + spec.name;
    auto got = collect_files(workspace, spec.artifacts, fs::join(run.dir(), rel));
    if (!got) {
      note(log, "slipway: artifacts: " + got.error().message());
    } else {
      for (const auto& f : got->files) outcome.artifacts.push_back(rel + "/" + f);
      note(log, fmt::format("slipway: kept {} artifacts ({} bytes){}", got->files.size(), got->bytes,
                            got->truncated.empty() ? "" : "; stopped at " + got->truncated));
      if (got->files.empty()) note(log, "slipway: no file matched " + fmt::format("{}", fmt::join(spec.artifacts, ", ")));
    }
  }
  if (!spec.junit_reports.empty()) {
    std::string dir = fs::join(run.dir(), "reports/" + spec.name);
    auto got = collect_files(workspace, spec.junit_reports, dir);
    if (!got) {
      note(log, "slipway: reports: " + got.error().message());
      return;
    }
    if (got->files.empty())
      note(log, "slipway: no JUnit report matched " + fmt::format("{}", fmt::join(spec.junit_reports, ", ")));
    for (const auto& f : got->files) {
      auto text = fs::read_file(fs::join(dir, f));
      auto tests = text ? parse_junit_report(*text, f) : std::unexpected(text.error());
      if (!tests) {
        note(log, "slipway: " + tests.error().message());
        continue;
      }
      outcome.tests.insert(outcome.tests.end(), tests->begin(), tests->end());
    }
    if (!outcome.tests.empty()) {
      TestCounts c = count_tests(outcome.tests);
      std::string counts = fmt::format("{} tests, {} failed{}", c.tests, c.failures + c.errors,
                                       c.skipped ? fmt::format(", {} skipped", c.skipped) : "");
      note(log, "slipway: " + counts);
      outcome.message = outcome.message.empty() ? counts : outcome.message + " (" + counts + ")";
    }
  }
}

}  // namespace slipway::pipeline
