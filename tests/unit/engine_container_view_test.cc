// engine/container_view.h: Docker's duration words, RFC 3339 times, and `ps --filter` rules.
#include "engine/container_view.h"

#include <gtest/gtest.h>

namespace slipway::engine {
namespace {

TEST(ContainerView, HumanDurationIsDockers) {
  EXPECT_EQ(human_duration(0), "Less than a second");
  EXPECT_EQ(human_duration(1), "1 second");
  EXPECT_EQ(human_duration(59), "59 seconds");
  EXPECT_EQ(human_duration(90), "About a minute");
  EXPECT_EQ(human_duration(300), "5 minutes");
  EXPECT_EQ(human_duration(3700), "About an hour");
  EXPECT_EQ(human_duration(47 * 3600), "47 hours");
  EXPECT_EQ(human_duration(3 * 86400), "3 days");
  EXPECT_EQ(human_duration(30 * 86400), "4 weeks");
  EXPECT_EQ(human_duration(200 * 86400), "6 months");
  EXPECT_EQ(human_duration(3 * 365 * 86400), "3 years");
}

TEST(ContainerView, Rfc3339WithAndWithoutFractions) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:01:00Z"), 60);
  EXPECT_EQ(parse_rfc3339("2026-12-04T14:00:00.123456789Z"), 1796392800);
  EXPECT_EQ(parse_rfc3339(""), -1);
  EXPECT_EQ(parse_rfc3339("yesterday"), -1);
}

TEST(ContainerView, PsFiltersOrWithinAKeyAndAcrossKeysAnd) {
  runtime::ContainerRecord api;
  api.id = std::string(64, 'a');
  api.name = "api";
  api.image = "busybox:latest";
  runtime::ContainerState running;
  running.status = runtime::ContainerStatus::kRunning;
  auto match = [&](std::vector<std::string> filters) {
    auto f = PsFilter::parse(filters);
    EXPECT_TRUE(f) << f.error().message();
    return f && f->matches(api, running, {});
  };
  EXPECT_TRUE(match({}));
  EXPECT_TRUE(match({"name=ap"}));
  EXPECT_TRUE(match({"name=nope", "name=api"}));
  EXPECT_FALSE(match({"name=api", "status=exited"}));
  EXPECT_TRUE(match({"id=aaaa", "status=running", "ancestor=busybox:latest"}));
  EXPECT_FALSE(match({"network=ci"}));
  EXPECT_FALSE(PsFilter::parse({"color=red"}));
  EXPECT_FALSE(PsFilter::parse({"=x"}));
  EXPECT_FALSE(PsFilter::parse({"status=asleep"}));
  EXPECT_TRUE(PsFilter::parse({"status=exited"})->has_status());
}

}  // namespace
}  // namespace slipway::engine
