// Health checks: Docker's state rules (runtime/health.h) and the check a container gets from
// --health-* flags over its image's HEALTHCHECK (engine/health_check.h).
#include <gtest/gtest.h>

#include "engine/health_check.h"
#include "runtime/health.h"

namespace slipway {
namespace {

using std::chrono::milliseconds;

runtime::HealthProbeResult probe(int code, std::string output = "") {
  return {"2026-12-04T00:00:00Z", "2026-12-04T00:00:01Z", code, std::move(output)};
}

TEST(HealthState, StartsHealthyOnSuccessAndTurnsUnhealthyAfterRetries) {
  runtime::HealthCheck check;
  check.retries = 2;
  runtime::HealthState s;
  EXPECT_EQ(s.status, "starting");
  s = runtime::after_probe(s, check, probe(1), false);
  EXPECT_EQ(s.status, "starting");
  EXPECT_EQ(s.failing_streak, 1);
  s = runtime::after_probe(s, check, probe(0), false);
  EXPECT_EQ(s.status, "healthy");
  EXPECT_EQ(s.failing_streak, 0);
  s = runtime::after_probe(s, check, probe(1), false);
  EXPECT_EQ(s.status, "healthy");
  s = runtime::after_probe(s, check, probe(-1, "timed out"), false);
  EXPECT_EQ(s.status, "unhealthy");
  EXPECT_EQ(s.failing_streak, 2);
  s = runtime::after_probe(s, check, probe(0), false);
  EXPECT_EQ(s.status, "healthy") << "it recovers";
}

TEST(HealthState, FailuresInTheStartPeriodDoNotCountUntilTheFirstSuccess) {
  runtime::HealthCheck check;
  check.retries = 1;
  runtime::HealthState s;
  for (int i = 0; i < 5; ++i) s = runtime::after_probe(s, check, probe(1), true);
  EXPECT_EQ(s.status, "starting");
  EXPECT_EQ(s.failing_streak, 0);
  s = runtime::after_probe(s, check, probe(0), true);
  s = runtime::after_probe(s, check, probe(1), true);
  EXPECT_EQ(s.status, "unhealthy") << "after a success, start-period failures count";
}

TEST(HealthState, KeepsTheLastFiveProbes) {
  runtime::HealthState s;
  for (int i = 0; i < 8; ++i) s = runtime::after_probe(s, {}, probe(0, std::to_string(i)), false);
  ASSERT_EQ(s.log.size(), runtime::kHealthLogEntries);
  EXPECT_EQ(s.log.front().output, "3");
  EXPECT_EQ(s.log.back().output, "7");
}

TEST(GoDuration, ParsesDockersFlagValues) {
  EXPECT_EQ(engine::parse_go_duration("30s", "--x")->count(), 30000);
  EXPECT_EQ(engine::parse_go_duration("1m30s", "--x")->count(), 90000);
  EXPECT_EQ(engine::parse_go_duration("500ms", "--x")->count(), 500);
  EXPECT_EQ(engine::parse_go_duration("1.5s", "--x")->count(), 1500);
  EXPECT_EQ(engine::parse_go_duration("2h", "--x")->count(), 7200000);
  EXPECT_EQ(engine::parse_go_duration("0", "--x")->count(), 0);
  for (const char* bad : {"", "10", "s", "1x", "-1s", "1s2", "1 s"})
    EXPECT_FALSE(engine::parse_go_duration(bad, "--x")) << bad;
  EXPECT_EQ(engine::parse_go_duration("5 min", "--health-interval").error().message(),
            "invalid --health-interval \"5 min\": use a duration such as 30s, 1m30s or 500ms");
}

TEST(HealthCheckResolution, FlagsOverTheImageOverDefaults) {
  engine::RunOptions o;
  EXPECT_FALSE(*engine::resolve_health_check(o, std::nullopt));
  oci::Healthcheck image;
  image.test = {"CMD", "curl", "-f", "http://localhost/"};
  image.interval_ns = 5'000'000'000;
  image.retries = 7;
  auto from_image = engine::resolve_health_check(o, image);
  ASSERT_TRUE(from_image && *from_image);
  EXPECT_EQ((*from_image)->test, image.test);
  EXPECT_EQ((*from_image)->interval, milliseconds(5000));
  EXPECT_EQ((*from_image)->timeout, milliseconds(30000));
  EXPECT_EQ((*from_image)->retries, 7);

  o.health_cmd = "test -f /ready";
  o.health_interval = "250ms";
  o.health_retries = 2;
  auto flags = engine::resolve_health_check(o, image);
  ASSERT_TRUE(flags && *flags);
  EXPECT_EQ((*flags)->test, (std::vector<std::string>{"CMD-SHELL", "test -f /ready"}));
  EXPECT_EQ((*flags)->interval, milliseconds(250));
  EXPECT_EQ((*flags)->retries, 2);

  engine::RunOptions off;
  off.no_healthcheck = true;
  EXPECT_FALSE(*engine::resolve_health_check(off, image));
  image.test = {"NONE"};
  EXPECT_FALSE(*engine::resolve_health_check(engine::RunOptions{}, image));
}

TEST(HealthCheckResolution, BadInputsNameTheFlag) {
  engine::RunOptions o;
  o.health_interval = "1s";
  EXPECT_EQ(engine::resolve_health_check(o, std::nullopt).error().message(),
            "--health-* options need a command: give --health-cmd (the image has no HEALTHCHECK)");
  o.health_cmd = "true";
  o.no_healthcheck = true;
  EXPECT_EQ(engine::resolve_health_check(o, std::nullopt).error().message(),
            "--no-healthcheck conflicts with the --health-* options");
  engine::RunOptions bad;
  bad.health_cmd = "true";
  bad.health_timeout = "soon";
  EXPECT_EQ(engine::resolve_health_check(bad, std::nullopt).error().message(),
            "invalid --health-timeout \"soon\": use a duration such as 30s, 1m30s or 500ms");
  bad.health_timeout = "";
  bad.health_retries = -1;
  EXPECT_EQ(engine::resolve_health_check(bad, std::nullopt).error().message(),
            "invalid --health-retries -1: must be >= 0");
}

}  // namespace
}  // namespace slipway
