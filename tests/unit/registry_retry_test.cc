// The retry policy: what is retried, how long to wait, and that it is bounded.
#include "oci/registry/retry.h"

#include <gtest/gtest.h>

namespace slipway::oci {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RetryPolicy, ServerErrorsAndThrottlingAreRetried) {
  RetryPolicy p;
  for (long s : {500L, 502L, 503L, 504L, 429L, 408L}) EXPECT_TRUE(p.retries_status(s)) << s;
}

TEST(RetryPolicy, ClientErrorsAndSuccessAreNot) {
  RetryPolicy p;
  for (long s : {200L, 201L, 202L, 301L, 400L, 401L, 403L, 404L, 405L, 416L, 501L})
    EXPECT_FALSE(p.retries_status(s)) << s;
}

TEST(RetryPolicy, DroppedAndRefusedConnectionsAreRetried) {
  RetryPolicy p;
  EXPECT_TRUE(p.retries_failure(TransportFailure::kConnect));
  EXPECT_TRUE(p.retries_failure(TransportFailure::kDropped));
  EXPECT_TRUE(p.retries_failure(TransportFailure::kTimeout));
  EXPECT_FALSE(p.retries_failure(TransportFailure::kTls));
  EXPECT_FALSE(p.retries_failure(TransportFailure::kResolve));
  EXPECT_FALSE(p.retries_failure(TransportFailure::kAborted));
  EXPECT_FALSE(p.retries_failure(TransportFailure::kOther));
}

TEST(RetryPolicy, BackoffDoublesUpToTheCap) {
  RetryPolicy p;
  EXPECT_EQ(p.max_attempts, 4);
  EXPECT_EQ(p.delay(1), milliseconds(200));
  EXPECT_EQ(p.delay(2), milliseconds(400));
  EXPECT_EQ(p.delay(3), milliseconds(800));
  EXPECT_EQ(p.delay(10), milliseconds(5000));
  EXPECT_EQ(p.delay(1000), milliseconds(5000)) << "no overflow";
}

TEST(RetryPolicy, RetryAfterIsHonouredButCapped) {
  RetryPolicy p;
  EXPECT_EQ(p.delay(1, seconds(2)), milliseconds(2000));
  EXPECT_EQ(p.delay(1, seconds(0)), milliseconds(0));
  EXPECT_EQ(p.delay(1, seconds(3600)), milliseconds(5000));
}

TEST(RetryAfter, DeltaSecondsOnly) {
  EXPECT_EQ(parse_retry_after("3"), seconds(3));
  EXPECT_EQ(parse_retry_after(" 10 "), seconds(10));
  EXPECT_EQ(parse_retry_after(""), std::nullopt);
  EXPECT_EQ(parse_retry_after("-1"), std::nullopt);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
}

}  // namespace
}  // namespace slipway::oci
