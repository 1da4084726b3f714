#include "pipeline/readiness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "base/unique_fd.h"
#include "netns/netns_fd.h"

namespace slipway::pipeline {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kAttemptTimeoutMs = 1000;

Status wait_for(int fd, short events, const std::string& what) {
  pollfd p{fd, events, 0};
  int n;
  while ((n = ::poll(&p, 1, kAttemptTimeoutMs)) < 0 && errno == EINTR) {
  }
  if (n < 0) return fail_errno(what);
  if (n == 0) return fail("{}: timed out", what);
  return {};
}

Result<UniqueFd> connect_to(const std::string& host, int port) {
  std::string where = fmt::format("connect {}:{}", host, port);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return fail("{}: not an IPv4 address", where);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno(where);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    if (errno != EINPROGRESS) return fail_errno(where);
    SLW_TRY(wait_for(fd.get(), POLLOUT, where));
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return fail_errno(where, err);
  }
  return fd;
}

Status http_get(int fd, const ReadinessProbe& probe, const std::string& host) {
  std::string what = fmt::format("GET http://{}:{}{}", host, probe.port, probe.http_path);
  std::string request = fmt::format("GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: slipway-probe\r\n\r\n",
                                    probe.http_path, host);
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
    return fail_errno(what);
  std::string head;
  while (head.find("\r\n") == std::string::npos && head.size() < 512) {
    SLW_TRY(wait_for(fd, POLLIN, what));
    char buf[512];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EAGAIN) continue;
    if (n < 0) return fail_errno(what);
    if (n == 0) break;
    head.append(buf, static_cast<size_t>(n));
  }
  std::string line = head.substr(0, head.find("\r\n"));
  // "HTTP/1.1 200 OK"
  auto space = line.find(' ');
  if (!line.starts_with("HTTP/") || space == std::string::npos || line.size() < space + 4)
    return fail("{}: not an HTTP response", what);
  char cls = line[space + 1];
  if (cls != '2' && cls != '3') return fail("{}: {}", what, line.substr(space + 1));
  return {};
}

}  // namespace

Status probe_once(const ReadinessProbe& probe, const std::string& host) {
  UniqueFd fd = SLW_TRY(connect_to(host, probe.port));
  if (!probe.http_path.empty()) SLW_TRY(http_get(fd.get(), probe, host));
  return {};
}

Status wait_until_ready(const ReadinessProbe& probe, const std::string& host, int netns_fd,
                        const std::function<bool()>& alive) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(probe.timeout_seconds));
  auto interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(probe.interval_seconds));
  auto attempt = [&]() -> Status { return probe_once(probe, host); };
  for (;;) {
    Status st = netns_fd >= 0 ? netns::in_netns(netns_fd, attempt) : attempt();
    if (st) return {};
    if (!alive()) return fail("it exited before it was ready (last probe: {})", st.error().message());
    if (Clock::now() + interval > deadline)
      return fail("not ready after {} s (last probe: {})", probe.timeout_seconds, st.error().message());
    std::this_thread::sleep_for(interval);
  }
}

}  // namespace slipway::pipeline
