// The container's stdio relay: pipes only, output copied whole, stdin fed and closed, logs capped.
#include "runtime/stdio_relay.h"

#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::runtime {
namespace {

class StringSink : public OutputSink {
 public:
  void write(std::string_view data) override { text += data; }
  std::string text;
};

// Forks a "container" that dups the relay's ends onto 0, 1, 2 and exits with what body returns;
// waits for it and for the relay; returns that exit code.
template <class Body>
int run_child(StdioRelay& relay, Body body) {
  auto fds = relay.container_fds();
  EXPECT_TRUE(relay.start());
  pid_t pid = ::fork();
  if (pid == 0) {
    for (int i = 0; i < 3; ++i) ::dup2(fds[i], i);
    ::close_range(3, ~0U, 0);  // as exec into a container would: no other fd stays open
    ::_exit(body());
  }
  relay.close_container_fds();
  int status = 0;
  ::waitpid(pid, &status, 0);
  relay.finish();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(StdioRelay, ContainerEndsArePipesAboveStdio) {
  auto relay = StdioRelay::create({});
  ASSERT_TRUE(relay) << relay.error().message();
  for (int fd : (*relay)->container_fds()) {
    struct stat st;
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    EXPECT_GT(fd, 2);
  }
}

TEST(StdioRelay, CopiesOutputAndFeedsStdinFromAFile) {
  slipway::testing::TempDir dir;
  // More than a pipe holds: the relay must not block on it. A file is never handed over.
  ASSERT_TRUE(fs::write_file(dir.path() + "/in", std::string(300000, 'i')));
  int in = ::open((dir.path() + "/in").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(in, 0);
  auto out = std::make_shared<StringSink>(), err = std::make_shared<StringSink>();
  auto relay = StdioRelay::create({in, out, err});
  ASSERT_TRUE(relay);
  run_child(**relay, [] {
    char buf[4096];
    size_t total = 0;
    for (ssize_t n; (n = ::read(0, buf, sizeof buf)) > 0;) total += static_cast<size_t>(n);
    std::string line = std::to_string(total) + "\n";
    (void)!::write(1, line.data(), line.size());
    (void)!::write(2, "err\n", 4);
    return 0;
  });
  ::close(in);
  EXPECT_EQ(out->text, "300000\n");
  EXPECT_EQ(err->text, "err\n");
}

TEST(StdioRelay, AnAnonymousPipeIsHandedOverAndReadOnlyAsFarAsWanted) {
  int in[2];
  ASSERT_EQ(::pipe(in), 0);
  ASSERT_EQ(::write(in[1], "one\ntwo\n", 8), 8);
  ::close(in[1]);
  auto out = std::make_shared<StringSink>();
  auto relay = StdioRelay::create({in[0], out, std::make_shared<StringSink>()});
  ASSERT_TRUE(relay);
  run_child(**relay, [] {
    char c[4];
    return ::read(0, c, 4) == 4 ? 0 : 1;  // takes "one\n" only
  });
  char rest[8] = {};
  EXPECT_EQ(::read(in[0], rest, sizeof rest), 4);
  EXPECT_STREQ(rest, "two\n");
  ::close(in[0]);
}

TEST(StdioRelay, EmptyStdinReadsEofAtOnce) {
  auto out = std::make_shared<StringSink>();
  auto relay = StdioRelay::create({-1, out, std::make_shared<StringSink>()});
  ASSERT_TRUE(relay);
  run_child(**relay, [] {
    char c;
    (void)!::write(1, ::read(0, &c, 1) == 0 ? "eof" : "data", 3);
    return 0;
  });
  EXPECT_EQ(out->text, "eof");
}

TEST(StdioRelay, AClosedReaderGivesTheContainerEpipe) {
  ::signal(SIGPIPE, SIG_IGN);  // as slipway's main does: a broken pipe is an error, not a death
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  ::close(out[0]);  // like `slipway run ... | head -1` once head has exited
  auto relay = StdioRelay::create({-1, std::make_shared<FdSink>(out[1]), std::make_shared<StringSink>()});
  ASSERT_TRUE(relay);
  int code = run_child(**relay, [] {
    ::signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < 100000; ++i)
      if (::write(1, "line\n", 5) < 0) return errno == EPIPE ? 7 : 1;
    return 0;  // never told: the reader's end of the story was lost
  });
  ::close(out[1]);
  EXPECT_EQ(code, 7);
}

TEST(RotatingLogSink, CapsEachFileAndKeepsMaxFiles) {
  slipway::testing::TempDir dir;
  std::string path = dir.path() + "/stdout.log";
  auto sink = RotatingLogSink::open(path, 10, 3);
  ASSERT_TRUE(sink) << sink.error().message();
  for (int i = 0; i < 5; ++i) (*sink)->write("0123456789");
  (*sink)->write("tail");
  EXPECT_EQ(*fs::read_file(path), "tail");
  EXPECT_EQ(*fs::read_file(path + ".1"), "0123456789");
  EXPECT_EQ(*fs::read_file(path + ".2"), "0123456789");
  EXPECT_FALSE(fs::exists(path + ".3"));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace slipway::runtime
