// A fixture for the pipeline engine on the in-memory backend: a real git repository to commit
// pipeline files into, a root and run root of its own, and helpers to run a pipeline and read
// what happened.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "pipeline/pipeline_engine.h"
#include "tests/support/fake_backend.h"
#include "tests/support/test_support.h"

namespace slipway::testing {

class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override { git({"init", "-q", "-b", "main"}); }

  CommandResult git(std::vector<std::string> args) {
    args.insert(args.begin(), {"git", "-C", repo_.path(), "-c", "user.name=ci", "-c", "user.email=ci@example.test"});
    return run_command(args);
  }

  // Commits a Dockerfile and this pipeline file; returns the commit id.
  std::string commit(const std::string& pipeline_file, const std::string& page = "v1") {
    std::ofstream(repo_.path() + "/Dockerfile") << "FROM busybox\nRUN echo " << page << "\n";
    std::ofstream(repo_.path() + "/.slipway.yml") << pipeline_file;
    git({"add", "-A"});
    git({"commit", "-q", "-m", "page " + page});
    std::string head = git({"rev-parse", "HEAD"}).out;
    return head.substr(0, head.find('\n'));
  }

  pipeline::PipelineRequest request(const std::string& environment = "testing", int jobs = 4) const {
    pipeline::PipelineRequest r;
    r.repo = repo_.path();
    r.environment = environment;
    r.jobs = jobs;
    r.root = root_.path();
    r.run_root = run_root_.path();
    r.progress_fd = -1;
    return r;
  }

  pipeline::PipelineOutcome run(const pipeline::PipelineRequest& r) {
    auto outcome = pipeline::run_pipeline(r, backend_);
    EXPECT_TRUE(outcome) << outcome.error().message();
    return outcome ? *outcome : pipeline::PipelineOutcome{};
  }
  pipeline::PipelineOutcome run(const std::string& environment = "testing", int jobs = 4) {
    return run(request(environment, jobs));
  }

  static const pipeline::StepRecord& step(const pipeline::PipelineOutcome& o, const std::string& name) {
    for (const auto& s : o.record.steps)
      if (s.name == name) return s;
    static pipeline::StepRecord none;
    ADD_FAILURE() << "no step " << name;
    return none;
  }

  // Events whose text starts with `prefix`, in order.
  std::vector<std::string> events(const std::string& prefix) const {
    std::vector<std::string> out;
    for (const auto& e : backend_.events)
      if (e.starts_with(prefix)) out.push_back(e);
    return out;
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  TempDir repo_{"slipway-engine-repo"};
  TempDir root_{"slipway-engine-root"};
  TempDir run_root_{"slipway-engine-run"};
  FakeBackend backend_;
};

}  // namespace slipway::testing
