// What a progress bar line looks like, and that the terminal reporter redraws one line per blob.
#include "oci/registry/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace slipway::oci {
namespace {

TEST(Progress, BarLine) {
  EXPECT_EQ(render_progress("3f2a1b0c9d8e", "Pushing", 0, 1000, 10),
            "3f2a1b0c9d8e: Pushing  [          ]       0B/1.0kB");
  EXPECT_EQ(render_progress("3f2a1b0c9d8e", "Pushing", 500, 1000, 10),
            "3f2a1b0c9d8e: Pushing  [=====>    ]     500B/1.0kB");
  EXPECT_EQ(render_progress("3f2a1b0c9d8e", "Pushed", 1000, 1000, 10),
            "3f2a1b0c9d8e: Pushed   [==========]    1.0kB/1.0kB");
  EXPECT_EQ(render_progress("x", "Pulling", 2000, 1000, 4), "x: Pulling  [====]    1.0kB/1.0kB")
      << "clamped";
  EXPECT_EQ(render_progress("x", "Exists", 0, 0, 4), "x: Exists   ");
}

TEST(Progress, HumanBytes) {
  EXPECT_EQ(human_bytes(0), "0B");
  EXPECT_EQ(human_bytes(999), "999B");
  EXPECT_EQ(human_bytes(1000), "1.0kB");
  EXPECT_EQ(human_bytes(47'185'920), "47.2MB");
  EXPECT_EQ(human_bytes(int64_t{3} << 40), "3.3TB");
}

TEST(Progress, TerminalReporterRedrawsInPlaceAndEndsEachBlobWithANewline) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    auto p = terminal_progress(fds[1]);
    p->begin("aaaaaaaaaaaa", "Pushing", 100);
    for (int i = 1; i <= 100; ++i) p->update(i);  // throttled: not 100 redraws
    p->end("Pushed");
    p->begin("bbbbbbbbbbbb", "Pulling", 50);
    p->end("Failed");
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_LT(std::count(out.begin(), out.end(), '\r'), 10) << "redraws are throttled";
  EXPECT_NE(out.find("aaaaaaaaaaaa: Pushed   [==="), std::string::npos) << out;
  EXPECT_NE(out.find("bbbbbbbbbbbb: Failed   [  "), std::string::npos) << out;
}

TEST(Progress, LineReporterWritesOnePlainLinePerFinishedBlob) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    auto p = line_progress(fds[1]);
    p->begin("aaaaaaaaaaaa", "Pulling", 47'185'920);
    for (int i = 1; i <= 100; ++i) p->update(i);
    p->end("Pulled");
    p->begin("bbbbbbbbbbbb", "Exists", 527);
    p->end("Exists");
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  EXPECT_EQ(out, "aaaaaaaaaaaa: Pulled 47.2MB\nbbbbbbbbbbbb: Exists 527B\n");
}

}  // namespace
}  // namespace slipway::oci
