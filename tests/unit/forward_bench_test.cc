// Forwarder benchmark, driven by scripts/bench-forward; disabled in normal test runs. Measures in
// one run, on 127.0.0.1: bulk throughput and connect+echo latency of a direct connection, of
// PortForwarder, of redir and of socat, and prints medians and ratios against direct.
// Knobs: SLIPWAY_BENCH_MB (default 1024), SLIPWAY_BENCH_RUNS (5), SLIPWAY_BENCH_CONNECTS (1000),
// SLIPWAY_BENCH_PEERS (default "redir socat").
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "netns/port_forwarder.h"
#include "tests/support/net_helpers.h"

namespace slipway::netns {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using testing::loopback;
using testing::port_of;

size_t env_or(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

UniqueFd listen_any_port() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa = loopback(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0 ||
      ::listen(fd.get(), 128) < 0)
    return UniqueFd();
  return fd;
}

uint16_t free_port() {
  return port_of(listen_any_port().get());
}

UniqueFd connect_to(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in sa = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) return UniqueFd();
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Serves connections one after another on its own thread. Bulk: reads an 8-byte count, then that
// many bytes, and answers one byte. Echo: answers its first byte. Both then wait for the close.
class BenchServer {
 public:
  explicit BenchServer(bool echo) : listener_(listen_any_port()) {
    port_ = port_of(listener_.get());
    thread_ = std::thread([this, echo] {
      ::pthread_setname_np(::pthread_self(), echo ? "bench-echo" : "bench-sink");
      std::vector<char> buf(1 << 18);
      for (;;) {
        UniqueFd c(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c || stop_) return;
        int one = 1;
        ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        uint64_t want = 1, got = 0;
        if (!echo && ::recv(c.get(), &want, sizeof want, MSG_WAITALL) != sizeof want) continue;
        ssize_t n = 0;
        while (got < want && (n = ::recv(c.get(), buf.data(), buf.size(), 0)) > 0) got += n;
        if (got >= want) (void)!::send(c.get(), "k", 1, MSG_NOSIGNAL);
        while (::recv(c.get(), buf.data(), buf.size(), 0) > 0) {
        }
      }
    });
  }
  ~BenchServer() {
    stop_ = true;
    connect_to(port_);  // wakes accept()
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A peer forwarder (redir or socat) as a child process, killed and reaped at the end.
class PeerProcess {
 public:
  explicit PeerProcess(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives an interrupted bench
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
  }
  ~PeerProcess() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

// utime + stime (+ reaped children's, for socat's per-connection forks) from a stat file.
double stat_cpu_seconds(const std::string& path, bool with_children) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::vector<std::string> f((std::istream_iterator<std::string>(fields)),
                             std::istream_iterator<std::string>());
  if (f.size() < 15) return 0;
  // Fields from 3 (state) on: utime is 14, stime 15, cutime 16, cstime 17.
  double ticks = std::stod(f[11]) + std::stod(f[12]);
  if (with_children) ticks += std::stod(f[13]) + std::stod(f[14]);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU time of this process's threads named `name`.
double thread_cpu_seconds(const std::string& name) {
  double total = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string c;
    std::getline(comm, c);
    if (c == name) total += stat_cpu_seconds(e.path() / "stat", false);
  }
  return total;
}

bool wait_listening(uint16_t port) {
  for (int i = 0; i < 500; ++i) {
    if (connect_to(port)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Seconds to push `bytes` through `port` until the server confirms it has them all.
double bulk_seconds(uint16_t port, size_t bytes) {
  static std::vector<char> chunk(1 << 20, 'x');
  auto start = Clock::now();
  UniqueFd c = connect_to(port);
  uint64_t count = bytes;
  if (!c || ::send(c.get(), &count, sizeof count, 0) != sizeof count) return -1;
  for (size_t sent = 0; sent < bytes;) {
    ssize_t n = ::send(c.get(), chunk.data(), std::min(chunk.size(), bytes - sent), MSG_NOSIGNAL);
    if (n <= 0) return -1;
    sent += static_cast<size_t>(n);
  }
  char ack;
  if (::recv(c.get(), &ack, 1, MSG_WAITALL) != 1) return -1;
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Microseconds for connect + one byte there and back, per attempt.
std::vector<double> connect_echo_micros(uint16_t port, size_t count) {
  std::vector<double> out;
  for (size_t i = 0; i < count; ++i) {
    auto start = Clock::now();
    UniqueFd c = connect_to(port);
    char b = 'p';
    if (!c || ::send(c.get(), &b, 1, 0) != 1 || ::recv(c.get(), &b, 1, MSG_WAITALL) != 1) continue;
    out.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

struct Mode {
  Mode(std::string n, uint16_t bulk, uint16_t echo)
      : name(std::move(n)), bulk_port(bulk), echo_port(echo) {}
  std::string name;
  uint16_t bulk_port = 0;
  uint16_t echo_port = 0;
  std::vector<double> seconds;
  std::vector<double> micros;
  std::function<double()> forwarder_cpu;  // CPU seconds used so far by the forwarding party
  double bulk_cpu = 0;                    // of it, during the timed bulk transfers
  double client_cpu = 0;                  // the sending and the receiving end, likewise
  double sink_cpu = 0;
};

TEST(ForwardBench, DISABLED_ThroughputAndLatencyAgainstRedirAndSocat) {
  const size_t mb = env_or("SLIPWAY_BENCH_MB", 1024);
  const size_t runs = env_or("SLIPWAY_BENCH_RUNS", 5);
  const size_t connects = env_or("SLIPWAY_BENCH_CONNECTS", 1000);
  const size_t bytes = mb << 20;
  ::pthread_setname_np(::pthread_self(), "bench-client");
  BenchServer bulk(false), echo(true);

  std::vector<Mode> modes;
  modes.emplace_back("direct", bulk.port(), echo.port());

  auto fwd = PortForwarder::create();
  ASSERT_TRUE(fwd) << fwd.error().message();
  ForwardRule rule;
  rule.target_port = bulk.port();
  uint16_t fwd_bulk = (*fwd)->listen_port(*(*fwd)->add_rule(rule));
  rule.target_port = echo.port();
  uint16_t fwd_echo = (*fwd)->listen_port(*(*fwd)->add_rule(rule));
  ASSERT_TRUE((*fwd)->start());
  modes.emplace_back("slipway", fwd_bulk, fwd_echo);
  modes.back().forwarder_cpu = [] { return thread_cpu_seconds("slw-forward"); };

  std::vector<std::unique_ptr<PeerProcess>> peers;
  const char* only = std::getenv("SLIPWAY_BENCH_PEERS");  // e.g. "redir", "" for none
  auto add_peer = [&](const std::string& name, auto argv_for) {
    if (only && std::string_view(only).find(name) == std::string_view::npos) return;
    if (std::system(("command -v " + name + " >/dev/null").c_str()) != 0) {
      std::printf("%s: not installed, skipped\n", name.c_str());
      return;
    }
    Mode m(name, free_port(), free_port());
    peers.push_back(std::make_unique<PeerProcess>(argv_for(m.bulk_port, bulk.port())));
    pid_t bulk_peer = peers.back()->pid();
    // redir hands each connection to a child that init adopts, so its CPU time is not ours to see.
    if (name != "redir")
      m.forwarder_cpu = [bulk_peer] {
        return stat_cpu_seconds(fmt::format("/proc/{}/stat", bulk_peer), true);
      };
    peers.push_back(std::make_unique<PeerProcess>(argv_for(m.echo_port, echo.port())));
    if (wait_listening(m.bulk_port) && wait_listening(m.echo_port)) modes.push_back(m);
  };
  add_peer("redir", [](uint16_t l, uint16_t t) {
    return std::vector<std::string>{
        "redir", "-n", "-l", "err", fmt::format("127.0.0.1:{}", l), fmt::format("127.0.0.1:{}", t)};
  });
  add_peer("socat", [](uint16_t l, uint16_t t) {
    return std::vector<std::string>{"socat",
                                    fmt::format("TCP-LISTEN:{},bind=127.0.0.1,reuseaddr,fork", l),
                                    fmt::format("TCP:127.0.0.1:{}", t)};
  });

  // Interleaved, so drift in the machine's load hits every mode alike.
  for (auto& m : modes) bulk_seconds(m.bulk_port, std::min<size_t>(bytes, 64 << 20));  // warm-up
  for (size_t r = 0; r < runs; ++r)
    for (auto& m : modes) {
      double cpu_before = m.forwarder_cpu ? m.forwarder_cpu() : 0;
      double client_before = thread_cpu_seconds("bench-client");
      double sink_before = thread_cpu_seconds("bench-sink");
      double s = bulk_seconds(m.bulk_port, bytes);
      m.client_cpu += thread_cpu_seconds("bench-client") - client_before;
      m.sink_cpu += thread_cpu_seconds("bench-sink") - sink_before;
      ASSERT_GT(s, 0) << m.name << ": bulk transfer failed";
      m.seconds.push_back(s);
      // A peer's per-connection child is reaped (and counted) shortly after the transfer.
      if (m.name != "slipway") std::this_thread::sleep_for(100ms);
      if (m.forwarder_cpu) m.bulk_cpu += m.forwarder_cpu() - cpu_before;
    }
  for (auto& m : modes) m.micros = connect_echo_micros(m.echo_port, connects);

  auto mbps = [&](const Mode& m) { return double(bytes) / (1 << 20) / percentile(m.seconds, 0.5); };
  double direct = mbps(modes[0]);
  double direct_us = percentile(modes[0].micros, 0.5);
  std::printf(
      "\nbulk: %zu MiB per transfer, median of %zu; latency: connect + 1-byte echo, %zu "
      "times\n\n",
      mb, runs, connects);
  std::printf("%-8s %8s %10s %22s %15s %8s %10s\n", "mode", "MiB/s", "vs direct",
              "CPU s/GiB: send fwd recv", "latency p50 us", "p90 us", "vs direct");
  double gib = double(bytes) * double(runs) / double(1 << 30);
  for (auto& m : modes) {
    double p50 = percentile(m.micros, 0.5);
    std::string fwd = m.forwarder_cpu ? fmt::format("{:.2f}", m.bulk_cpu / gib) : "-";
    std::string cpu = fmt::format("{:.2f} {:>4} {:.2f}", m.client_cpu / gib, fwd, m.sink_cpu / gib);
    std::string latency_ratio = direct_us > 0 ? fmt::format("{:.2f}x", p50 / direct_us) : "-";
    std::printf("%-8s %8.0f %9.2fx %22s %15.1f %8.1f %10s\n", m.name.c_str(), mbps(m),
                mbps(m) / direct, cpu.c_str(), p50, percentile(m.micros, 0.9), latency_ratio.c_str());
  }
  for (auto& m : modes)
    if (m.name != "direct" && m.name != "slipway")
      std::printf("slipway / %s throughput: %.2fx\n", m.name.c_str(), mbps(modes[1]) / mbps(m));
  EXPECT_EQ((*fwd)->stats().connect_failed, 0u);
}

}  // namespace
}  // namespace slipway::netns
