// stdin and terminals as Docker's: no stdin without -i, a pseudo-terminal from the container's own
// devpts with -t, an interactive shell with -it (typed keys, ^C, window size), and `exec -it`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "tests/support/terminal_session.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

class TerminalTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    load_busybox();
  }

  std::vector<std::string> command(std::vector<std::string> args) {
    std::vector<std::string> argv = {slipway_binary(), "--root", root(), "--run-root", run_root()};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

TEST_F(TerminalTest, StdinIsEmptyAndUntouchedWithoutInteractive) {
  EXPECT_EQ(slipway({"run", "--rm", "busybox", "sh", "-c", "cat; echo end"}, "hello\n").out, "end\n");
  EXPECT_EQ(slipway({"run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo end"}, "hello\n").out, "hello\nend\n");
  // A loop over lines keeps its lines: the container reads none of them (a file, not a pipe).
  TempDir dir;
  std::string lines = dir.path() + "/lines";
  std::ofstream(lines) << "a\nb\n";
  std::string loop = "while read x; do echo got $x; \"$@\" run --rm busybox true; done < " + lines;
  std::vector<std::string> argv = {"sh", "-c", loop, "sh"};
  auto base = command({});
  argv.insert(argv.end(), base.begin(), base.end());
  auto r = run_command(argv);
  EXPECT_EQ(r.out, "got a\ngot b\n") << r.err;
}

TEST_F(TerminalTest, TtyPutsAllOutputOnOneTerminalOfTheContainersOwn) {
  auto r = slipway({"run", "--rm", "-t", "busybox", "sh", "-c", "tty; echo $TERM; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.out, "/dev/pts/0\r\nxterm\r\nerr\r\n");
  EXPECT_EQ(r.err, "");
  auto piped = slipway({"run", "--rm", "-it", "busybox", "true"}, "");
  EXPECT_EQ(piped.exit_code, 125);
  EXPECT_EQ(piped.err, "slipway: error: the input device is not a TTY\n");
}

TEST_F(TerminalTest, RunItIsAnInteractiveShellThatFollowsTheWindow) {
  TerminalSession s;
  s.rows = 30;
  s.cols = 100;
  s.typed = "stty size; echo $((6*7)); echo re''ady; read x; stty size; exit 5\r";
  s.resize_when = "ready\r\n";
  s.resize_rows = 40;
  s.resize_cols = 120;
  s.typed_after = "\r";
  auto r = run_in_terminal(command({"run", "--rm", "-it", "busybox", "sh"}), s);
  EXPECT_EQ(r.exit_code, 5) << r.out;
  EXPECT_TRUE(contains(r.out, "30 100\r\n42\r\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "40 120\r\n")) << r.out;
}

TEST_F(TerminalTest, ExecItGetsATerminalOfItsOwnAndCtrlCReachesItsCommand) {
  ASSERT_EQ(slipway({"run", "-d", "-i", "-t", "--name", "c", "busybox", "sh"}).exit_code, 0);
  TerminalSession s;
  // Printed by the job itself, so it is the terminal's foreground job when ^C comes.
  s.typed = "tty; id -u; sh -c 'echo st\"\"art; exec sleep 30'\r";
  s.resize_when = "start\r\n";
  s.typed_after = "\x03";  // an interactive shell drops the rest of the line and prompts again
  s.typed_after += "echo after $?; exit 6\r";
  auto r = run_in_terminal(command({"exec", "-it", "-u", "1000", "c", "sh"}), s);
  EXPECT_EQ(r.exit_code, 6) << r.out;
  EXPECT_TRUE(contains(r.out, "/dev/pts/1\r\n1000\r\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "after 130\r\n")) << r.out;
  // -d -i -t: the shell waits on its terminal instead of ending at EOF.
  auto ps = slipway({"ps", "--format", "{{.Names}} {{.State}}"});
  EXPECT_EQ(ps.out, "c running\n");
  auto piped = slipway({"exec", "-it", "c", "true"}, "");
  EXPECT_EQ(piped.err, "slipway: error: the input device is not a TTY\n");
  EXPECT_EQ(slipway({"exec", "-t", "c", "tty"}).out, "/dev/pts/1\r\n");
  EXPECT_EQ(slipway({"exec", "-i", "c", "cat"}, "through\n").out, "through\n");
  EXPECT_EQ(slipway({"rm", "-f", "c"}).exit_code, 0);
}

TEST_F(TerminalTest, DetachedTtyOutputGoesToTheLog) {
  ASSERT_EQ(slipway({"run", "-d", "-t", "--name", "t", "busybox", "sh", "-c", "tty; echo err >&2"}).exit_code, 0);
  EXPECT_EQ(slipway({"wait", "t"}).out, "0\n");
  EXPECT_EQ(slipway({"logs", "t"}).out, "/dev/pts/0\r\nerr\r\n");
  // -d -i without a terminal: stdin stays open, so sh waits for commands.
  ASSERT_EQ(slipway({"run", "-d", "-i", "--name", "k", "busybox", "sh"}).exit_code, 0);
  ::usleep(300 * 1000);
  EXPECT_EQ(slipway({"ps", "--filter", "name=k", "--format", "{{.State}}"}).out, "running\n");
  EXPECT_EQ(slipway({"rm", "-f", "t", "k"}).exit_code, 0);
}

}  // namespace
}  // namespace slipway::testing
