// What a progress bar line looks like, that the terminal reporter keeps one line per blob redrawn
// in place, and that both reporters take transfers from several threads at once.
#include "oci/registry/progress.h"

#include <gtest/gtest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

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

// What a terminal shows after `out`: the cursor moves up (ESC [ n A), to the line start (\r),
// erases the line (ESC [ 2 K) and goes down (\n); everything else is text.
std::vector<std::string> screen_after(std::string_view out) {
  std::vector<std::string> screen(1);
  size_t row = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out.compare(i, 2, "\x1b[") == 0) {
      size_t end = out.find_first_of("AK", i + 2);
      if (out[end] == 'A') row -= std::stoul(std::string(out.substr(i + 2, end - i - 2)));
      if (out[end] == 'K') screen[row].clear();
      i = end;
    } else if (out[i] == '\n') {
      if (++row == screen.size()) screen.emplace_back();
    } else if (out[i] != '\r') {
      screen[row] += out[i];
    }
  }
  if (screen.back().empty()) screen.pop_back();
  return screen;
}

TEST(Progress, TerminalReporterKeepsOneLinePerTransferRedrawnInPlace) {
  std::string out = reporter_output(terminal_progress, [](TransferProgress& p) {
    int a = p.begin("aaaaaaaaaaaa", "Pulling", 100);
    int b = p.begin("bbbbbbbbbbbb", "Pulling", 50);
    for (int i = 1; i <= 100; ++i) {  // throttled: not 200 redraws
      p.update(a, i);
      p.update(b, i / 2);
    }
    p.end(b, "Failed");
    p.end(a, "Pulled");
  });
  EXPECT_LT(std::count(out.begin(), out.end(), '\r'), 20) << "redraws are throttled";
  auto screen = screen_after(out);
  ASSERT_EQ(screen.size(), 2u) << out;
  EXPECT_EQ(screen[0], render_progress("aaaaaaaaaaaa", "Pulled", 100, 100));
  EXPECT_EQ(screen[1], render_progress("bbbbbbbbbbbb", "Failed", 50, 50));
}

TEST(Progress, LineReporterWritesOnePlainLinePerFinishedBlob) {
  std::string out = reporter_output(line_progress, [](TransferProgress& p) {
    int a = p.begin("aaaaaaaaaaaa", "Pulling", 47'185'920);
    int b = p.begin("bbbbbbbbbbbb", "Exists", 527);
    for (int i = 1; i <= 100; ++i) p.update(a, i);
    p.end(b, "Exists");
    p.end(a, "Pulled");
  });
  EXPECT_EQ(out, "bbbbbbbbbbbb: Exists 527B\naaaaaaaaaaaa: Pulled 47.2MB\n");
}

TEST(Progress, ReportersTakeTransfersFromManyThreads) {
  for (auto make : {terminal_progress, line_progress}) {
    std::string out = reporter_output(make, [](TransferProgress& p) {
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t)
        threads.emplace_back([&p, t] {
          int id = p.begin(fmt::format("blob{}", t), "Pulling", 1000);
          for (int i = 0; i <= 1000; i += 10) p.update(id, i);
          p.end(id, "Pulled");
        });
      for (auto& t : threads) t.join();
    });
    for (int t = 0; t < 4; ++t) EXPECT_NE(out.find(fmt::format("blob{}: Pulled", t)), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace slipway::oci
