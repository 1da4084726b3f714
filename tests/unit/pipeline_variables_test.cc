// pipeline/variables.h: GitLab's CI_* names and `${NAME}` interpolation.
#include <gtest/gtest.h>

#include "pipeline/variables.h"

namespace slipway::pipeline {
namespace {

TEST(CiVariables, GitLabNames) {
  RunFacts f;
  f.commit = {"0123456789abcdef0123456789abcdef01234567", "main", "", "Fix the thing\n\nBody", 1764806400};
  f.pipeline_id = "20251204-000000000-abcdef";
  f.project = "hello-app";
  f.environment = "staging";
  auto v = with_job(ci_variables(f), "unit");
  EXPECT_EQ(v["CI"], "true");
  EXPECT_EQ(v["CI_COMMIT_SHA"], f.commit.sha);
  EXPECT_EQ(v["CI_COMMIT_SHORT_SHA"], "01234567");
  EXPECT_EQ(v["CI_COMMIT_BRANCH"], "main");
  EXPECT_EQ(v.count("CI_COMMIT_TAG"), 0u) << "unset, as GitLab, when not a tag";
  EXPECT_EQ(v["CI_COMMIT_MESSAGE"], "Fix the thing\n\nBody");
  EXPECT_EQ(v["CI_COMMIT_TIMESTAMP"], "2025-12-04T00:00:00+00:00");
  EXPECT_EQ(v["CI_PIPELINE_ID"], f.pipeline_id);
  EXPECT_EQ(v["CI_PROJECT_NAME"], "hello-app");
  EXPECT_EQ(v["CI_ENVIRONMENT_NAME"], "staging");
  EXPECT_EQ(v["CI_JOB_NAME"], "unit");
  f.commit.branch = "";
  f.commit.tag = "v1.2";
  auto tagged = ci_variables(f);
  EXPECT_EQ(tagged["CI_COMMIT_TAG"], "v1.2");
  EXPECT_EQ(tagged.count("CI_COMMIT_BRANCH"), 0u);
}

TEST(Interpolate, BracedNamesOnlyAndDollarDollarEscapes) {
  std::map<std::string, std::string> v = {{"IMAGE", "app"}, {"TAG", "1.0"}, {"EMPTY", ""}};
  EXPECT_EQ(*interpolate("${IMAGE}:${TAG}", v), "app:1.0");
  EXPECT_EQ(*interpolate("echo $HOME $(date) $$ ${EMPTY}x", v), "echo $HOME $(date) $ x");
  EXPECT_EQ(*interpolate("cost: 5$", v), "cost: 5$");
  EXPECT_EQ(*interpolate("$${HOME}", v), "${HOME}") << "left for the shell";
  EXPECT_EQ(interpolate("x ${NOPE} y", v).error().message(),
            "undefined variable ${NOPE} (write $${NOPE} to leave it to the shell)");
  EXPECT_EQ(interpolate("${TAG", v).error().message(), "unterminated ${ in \"${TAG\"");
  EXPECT_EQ(interpolate("${1X}", v).error().message(),
            "invalid variable name ${1X}: use letters, digits and _ (write $$ for a literal $)");
  EXPECT_FALSE(interpolate("${}", v));
}

}  // namespace
}  // namespace slipway::pipeline
