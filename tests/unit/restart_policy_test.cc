// --restart policies and back-off (runtime/restart_policy.h).
#include <gtest/gtest.h>

#include "runtime/restart_policy.h"

namespace slipway::runtime {
namespace {

using When = RestartPolicy::When;

TEST(RestartPolicy, ParsesDockersNames) {
  EXPECT_EQ(parse_restart_policy("no")->when, When::kNo);
  EXPECT_EQ(parse_restart_policy("always")->when, When::kAlways);
  EXPECT_EQ(parse_restart_policy("unless-stopped")->when, When::kUnlessStopped);
  auto p = parse_restart_policy("on-failure:5");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->when, When::kOnFailure);
  EXPECT_EQ(p->max_retries, 5);
  EXPECT_EQ(parse_restart_policy("on-failure")->max_retries, 0);
  for (const char* bad : {"", "yes", "on-failure:", "on-failure:x", "on-failure:-1", "on-failure:2x", "no:1"})
    EXPECT_FALSE(parse_restart_policy(bad)) << bad;
  EXPECT_EQ(to_string(*parse_restart_policy("on-failure:5")), "on-failure");
}

TEST(RestartPolicy, DecidesAsDocker) {
  RestartPolicy on_failure{When::kOnFailure, 2};
  EXPECT_TRUE(should_restart(on_failure, 1, 0, false));
  EXPECT_TRUE(should_restart(on_failure, 137, 1, false));
  EXPECT_FALSE(should_restart(on_failure, 1, 2, false)) << "retries used up";
  EXPECT_FALSE(should_restart(on_failure, 0, 0, false)) << "success ends it";
  EXPECT_TRUE(should_restart({When::kOnFailure, 0}, 1, 1000, false)) << "no limit";
  EXPECT_TRUE(should_restart({When::kAlways, 0}, 0, 5, false));
  EXPECT_FALSE(should_restart({When::kAlways, 0}, 1, 0, true)) << "stopped on purpose";
  EXPECT_FALSE(should_restart({When::kNo, 0}, 1, 0, false));
}

TEST(RestartPolicy, BacksOffByDoublingUpToAMinute) {
  EXPECT_EQ(restart_delay(0).count(), 100);
  EXPECT_EQ(restart_delay(1).count(), 200);
  EXPECT_EQ(restart_delay(3).count(), 800);
  EXPECT_EQ(restart_delay(20).count(), 60000);
  EXPECT_EQ(restart_delay(1000).count(), 60000);
}

}  // namespace
}  // namespace slipway::runtime
