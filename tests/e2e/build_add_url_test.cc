// `slipway build` with ADD <URL> against python3's http.server on 127.0.0.1: the downloaded file
// in the image (mode 0600, root, SOURCE_DATE_EPOCH mtime, never unpacked), directory
// destinations named after the URL, --chown/--chmod, mixed URL and context sources, --checksum
// good and bad, one-line errors for a 404 and a dead server, and the layer cache keyed by the
// content: a rebuild downloads again and hits, a changed file misses.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/fs.h"
#include "oci/digest.h"
#include "tests/support/local_registry.h"
#include "tests/support/test_support.h"

namespace slipway::testing {
namespace {

// `python3 -m http.server` serving dir on 127.0.0.1, its request log in log; killed by pid (and
// reaped) when the object goes, and with the test process if that dies first.
class HttpServer {
 public:
  HttpServer(const std::string& dir, const std::string& log) : log_(log), port_(free_port()) {
    std::string port = std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execlp("python3", "python3", "-u", "-m", "http.server", "--bind", "127.0.0.1", port.c_str(),
               "--directory", dir.c_str(), nullptr);
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!port_open(port_)) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error_ = "python3 -m http.server exited: " + fs::read_file(log).value_or("");
        return;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        error_ = "python3 -m http.server did not listen within 20 s";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  ~HttpServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }

  const std::string& error() const { return error_; }
  std::string url(const std::string& path) const {
    return fmt::format("http://127.0.0.1:{}/{}", port_, path);
  }
  // GET requests for path that the server logged.
  int gets(const std::string& path) const {
    std::string log = fs::read_file(log_).value_or("");
    std::string needle = "\"GET /" + path + " ";
    int n = 0;
    for (size_t at = 0; (at = log.find(needle, at)) != std::string::npos; ++at) ++n;
    return n;
  }

 private:
  std::string log_;
  int port_;
  pid_t pid_ = -1;
  std::string error_;
};

class BuildAddUrlTest : public RootTest {
 protected:
  void SetUp() override {
    RootTest::SetUp();
    if (IsSkipped()) return;
    if (run_command({"sh", "-c", "command -v python3"}).exit_code != 0)
      GTEST_SKIP() << "python3 is not installed";
    load_busybox();
    ASSERT_TRUE(fs::make_dirs(served_.path() + "/sub"));
    server_ = std::make_unique<HttpServer>(served_.path(), fs::join(logs_.path(), "http.log"));
    ASSERT_EQ(server_->error(), "");
  }

  void serve(const std::string& rel, const std::string& data) {
    ASSERT_TRUE(fs::write_file(fs::join(served_.path(), rel), data));
  }

  void file(const std::string& rel, const std::string& data) {
    ASSERT_TRUE(fs::write_file(fs::join(ctx_.path(), rel), data));
  }

  CommandResult build(const std::string& tag) { return slipway({"build", "-t", tag, ctx_.path()}); }

  std::string in_image(const std::string& tag, const std::string& script) {
    auto r = slipway({"run", "--rm", tag, "sh", "-c", script});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // One "slipway: error:" line, exit 125, nothing tagged, nothing left in the store's tmp dir.
  void expect_failure(const CommandResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
    EXPECT_NE(r.err.find("slipway: error: " + message + "\n"), std::string::npos) << r.err;
    EXPECT_EQ(count(r.err, "slipway: error:"), 1) << r.err;
    EXPECT_EQ(count(slipway({"image", "ls", "-q"}).out, "\n"), 1) << "only busybox is tagged";
    expect_clean();
  }

  void expect_clean() {
    EXPECT_EQ(fs::list_dir(fs::join(root(), "tmp"))->size(), 0u) << "temp files left";
  }

  TempDir ctx_{"slipway-build-ctx"};
  TempDir served_{"slipway-served"};
  TempDir logs_{"slipway-http-log"};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(BuildAddUrlTest, AddsDownloadedFilesLikeDocker) {
  serve("hello.txt", "hello over http\n");
  file("local.txt", "from the context\n");
  // A tar from a URL is a file, not unpacked (Docker's rule for URL sources).
  std::string tar_path = served_.path() + "/sub/data.tar";
  auto tar = run_command({"tar", "-C", ctx_.path(), "-cf", tar_path, "local.txt"});
  ASSERT_EQ(tar.exit_code, 0) << tar.err;
  std::string tar_size = std::to_string(fs::read_file(tar_path)->size());
  file("Dockerfile", fmt::format("FROM busybox\n"
                                 "ADD {} /hello.txt\n"
                                 "ADD {} /opt/\n"
                                 "ADD --chown=1:2 --chmod=640 {} local.txt /multi/\n"
                                 "ADD {} /listing.html\n",
                                 server_->url("hello.txt"), server_->url("sub/data.tar?version=1"),
                                 server_->url("hello.txt"), server_->url("sub")));
  auto r = build("t:1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(in_image("t:1", "cat /hello.txt"), "hello over http\n");
  // 0600 and root like Docker's; the mtime is SOURCE_DATE_EPOCH (0: the context is no git repo).
  EXPECT_EQ(in_image("t:1", "stat -c '%a %u:%g %Y' /hello.txt"), "600 0:0 0\n");
  EXPECT_EQ(in_image("t:1", "ls /opt; stat -c %s /opt/data.tar"), "data.tar\n" + tar_size + "\n");
  EXPECT_EQ(in_image("t:1", "cd /multi && stat -c '%n %a %u:%g' * && cat hello.txt local.txt"),
            "hello.txt 640 1:2\nlocal.txt 640 1:2\nhello over http\nfrom the context\n");
  // http.server redirects /sub to /sub/, whose listing names data.tar.
  EXPECT_EQ(in_image("t:1", "grep -c data.tar /listing.html"), "1\n");
  expect_clean();
}

TEST_F(BuildAddUrlTest, CacheIsKeyedByTheDownloadedContent) {
  serve("hello.txt", "v1\n");
  file("Dockerfile", fmt::format("FROM busybox\nADD {} /hello.txt\nRUN cat /hello.txt > /copy\n",
                                 server_->url("hello.txt")));
  auto first = build("t:1");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(server_->gets("hello.txt"), 1);

  // Docker downloads every time; the same content is a cache hit for the ADD and what follows.
  auto again = build("t:1");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(server_->gets("hello.txt"), 2);
  EXPECT_EQ(last_line(again.out), last_line(first.out));
  EXPECT_NE(again.err.find("CACHED [stage-0 2/3] ADD"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("2 of 2 layer steps cached, 0 containers"), std::string::npos)
      << again.err;

  // Changed content rebuilds the ADD and everything after it.
  serve("hello.txt", "v2\n");
  auto changed = build("t:2");
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_EQ(count(changed.err, "CACHED"), 0) << changed.err;
  EXPECT_NE(last_line(changed.out), last_line(first.out));
  EXPECT_EQ(in_image("t:2", "cat /hello.txt /copy"), "v2\nv2\n");
  EXPECT_EQ(in_image("t:1", "cat /hello.txt"), "v1\n");
  expect_clean();
}

TEST_F(BuildAddUrlTest, ChecksumIsVerified) {
  serve("hello.txt", "checked\n");
  std::string good = oci::sha256_digest("checked\n");
  file("Dockerfile", fmt::format("FROM busybox\nADD --checksum={} {} /hello.txt\n", good,
                                 server_->url("hello.txt")));
  auto r = build("t:1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(in_image("t:1", "cat /hello.txt"), "checked\n");
  EXPECT_EQ(server_->gets("hello.txt"), 1);
  // With the digest known upfront, a cache hit needs no download.
  auto again = build("t:1");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("1 of 1 layer steps cached"), std::string::npos) << again.err;
  EXPECT_EQ(server_->gets("hello.txt"), 1);
  ASSERT_EQ(slipway({"image", "rm", "t:1"}).exit_code, 0);

  std::string bad = "sha256:" + std::string(64, '0');
  file("Dockerfile", fmt::format("FROM busybox\nADD --checksum={} {} /hello.txt\n", bad,
                                 server_->url("hello.txt")));
  expect_failure(build("t:1"),
                 fmt::format("Dockerfile:2: ADD {}: checksum mismatch: want {}, got {}",
                             server_->url("hello.txt"), bad, good));

  file("Dockerfile",
       "FROM busybox\nADD --checksum=sha256:12 " + server_->url("hello.txt") + " /hello.txt\n");
  expect_failure(build("t:1"),
                 "Dockerfile:2: ADD: invalid --checksum=sha256:12: want sha256:<64 hex digits>");
  file("local.txt", "x");
  file("Dockerfile", "FROM busybox\nADD --checksum=" + good + " local.txt /x\n");
  expect_failure(build("t:1"),
                 "Dockerfile:2: ADD: checksum can't be specified for non-HTTP(S) sources");
}

TEST_F(BuildAddUrlTest, FailuresNameTheUrl) {
  file("Dockerfile",
       fmt::format("FROM busybox\nADD {} /missing.txt\n", server_->url("missing.txt")));
  expect_failure(build("t:1"),
                 fmt::format("Dockerfile:2: ADD {}: HTTP 404", server_->url("missing.txt")));

  std::string dead = fmt::format("http://127.0.0.1:{}/hello.txt", free_port());
  file("Dockerfile", fmt::format("FROM busybox\nADD {} /hello.txt\n", dead));
  expect_failure(build("t:1"),
                 fmt::format("Dockerfile:2: ADD {}: connect: Connection refused", dead));
}

}  // namespace
}  // namespace slipway::testing
