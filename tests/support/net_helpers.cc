#include "tests/support/net_helpers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/core.h>
#include <netlink/route/link.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "netns/netns_fd.h"

namespace slipway::testing {
namespace {

Status create_link(netns::Netlink& nl, const std::string& name, const std::string& kind) {
  std::string what = fmt::format("create {} link {}", kind, name);
  std::unique_ptr<rtnl_link, decltype(&rtnl_link_put)> link(rtnl_link_alloc(), rtnl_link_put);
  if (!link) return fail("{}: out of memory", what);
  rtnl_link_set_name(link.get(), name.c_str());
  if (int err = rtnl_link_set_type(link.get(), kind.c_str()); err < 0)
    return fail("{}: {}", what, nl_geterror(err));
  return nl.add_link(link.get(), NLM_F_CREATE | NLM_F_EXCL, what);
}

}  // namespace

sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  return sa;
}

uint16_t port_of(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

std::pair<std::string, bool> read_to_eof(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) return {out, true};
    if (n < 0) return {out, false};
    out.append(buf, static_cast<size_t>(n));
  }
}

Result<UniqueFd> make_test_netns() {
  UniqueFd ns = SLW_TRY(netns::create_netns());
  SLW_TRY(netns::in_netns(ns.get(), []() -> Status {
    netns::Netlink nl = SLW_TRY(netns::Netlink::open());
    return nl.link_up("lo");
  }));
  return ns;
}

CommandResult run_in_netns(int ns, const std::vector<std::string>& argv) {
  using Clock = std::chrono::steady_clock;
  CommandResult result;
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return result;
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    if (::setns(ns, CLONE_NEWNET) < 0) ::_exit(126);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  UniqueFd reader(out[0]);
  auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    pollfd p{reader.get(), POLLIN, 0};
    int left =
        int(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0 || ::poll(&p, 1, left) <= 0) break;
    char buf[4096];
    ssize_t n = ::read(reader.get(), buf, sizeof buf);
    if (n <= 0) break;
    result.out.append(buf, static_cast<size_t>(n));
  }
  ::kill(pid, SIGKILL);  // a no-op when it already exited; we reap it either way
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Result<std::string> create_plain_link(netns::Netlink& nl, const std::string& name) {
  auto made = create_link(nl, name, "dummy");
  if (made) return std::string("dummy");
  if (made.error().code() != EOPNOTSUPP) return std::unexpected(std::move(made).error());
  SLW_TRY(create_link(nl, name, "ifb"));
  return std::string("ifb");
}

}  // namespace slipway::testing
