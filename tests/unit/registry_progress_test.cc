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

// What `report` writes through a reporter that make_reporter puts on a pipe.
template <class Make, class Report>
std::string reporter_output(Make make_reporter, Report report) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  report(*make_reporter(fds[1]));  // the reporter is gone before the pipe is read
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  return out;
}

TEST(Progress, TerminalReporterRedrawsInPlaceAndEndsEachBlobWithANewline) {
  std::string out = reporter_output(terminal_progress, [](TransferProgress& p) {
    p.begin("aaaaaaaaaaaa", "Pushing", 100);
    for (int i = 1; i <= 100; ++i) p.update(i);  // throttled: not 100 redraws
    p.end("Pushed");
    p.begin("bbbbbbbbbbbb", "Pulling", 50);
    p.end("Failed");
  });
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_LT(std::count(out.begin(), out.end(), '\r'), 10) << "redraws are throttled";
  EXPECT_NE(out.find("aaaaaaaaaaaa: Pushed   [==="), std::string::npos) << out;
  EXPECT_NE(out.find("bbbbbbbbbbbb: Failed   [  "), std::string::npos) << out;
}

TEST(Progress, LineReporterWritesOnePlainLinePerFinishedBlob) {
  std::string out = reporter_output(line_progress, [](TransferProgress& p) {
    p.begin("aaaaaaaaaaaa", "Pulling", 47'185'920);
    for (int i = 1; i <= 100; ++i) p.update(i);
    p.end("Pulled");
    p.begin("bbbbbbbbbbbb", "Exists", 527);
    p.end("Exists");
  });
  EXPECT_EQ(out, "aaaaaaaaaaaa: Pulled 47.2MB\nbbbbbbbbbbbb: Exists 527B\n");
}

}  // namespace
}  // namespace slipway::oci
