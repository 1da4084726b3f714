#include "netns/socket_maker.h"

#include <fcntl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <future>
#include <system_error>

#include "netns/netns_fd.h"

namespace slipway::netns {

namespace {

// A namespace made a moment ago may not have "lo" up yet (its container brings it up on its own,
// in parallel with the runtime's hooks): a socket made there to listen on localhost needs it up.
Status ensure_loopback_up(int sock) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, "lo", 3);
  if (::ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return fail_errno("read flags of lo");
  if (ifr.ifr_flags & IFF_UP) return {};
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) return fail_errno("bring up lo");
  return {};
}

}  // namespace

Result<UniqueFd> make_socket_in_netns(int netns_fd, int domain, int type, int protocol) {
  return in_netns(netns_fd, [&]() -> Result<UniqueFd> {
    int fd = ::socket(domain, type, protocol);
    if (fd < 0) return fail_errno("create socket");
    UniqueFd sock(fd);
    SLW_TRY(ensure_loopback_up(fd));
    return sock;
  });
}

SocketMaker::SocketMaker(int domain, int type, size_t pool_size)
    : domain_(domain), type_(type), pool_size_(pool_size == 0 ? 1 : pool_size) {}

Result<std::unique_ptr<SocketMaker>> SocketMaker::start(int netns_fd, int domain, int type,
                                                        size_t pool_size) {
  int dup = ::fcntl(netns_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return fail_errno(fmt::format("duplicate network namespace fd {}", netns_fd));
  std::unique_ptr<SocketMaker> maker(new SocketMaker(domain, type, pool_size));
  std::promise<Status> entered;
  auto entered_future = entered.get_future();
  try {
    maker->thread_ = std::thread([m = maker.get(), dup, &entered]() noexcept {
      UniqueFd ns(dup);
      if (::setns(ns.get(), CLONE_NEWNET) < 0) {
        entered.set_value(fail_errno("enter network namespace (setns)"));
        return;
      }
      entered.set_value({});
      ns.reset();
      ::pthread_setname_np(::pthread_self(), "slw-sockmaker");
      m->run();
    });
  } catch (const std::system_error& e) {
    ::close(dup);
    return fail_errno("start socket maker thread", e.code().value());
  }
  if (auto status = entered_future.get(); !status) {
    maker->thread_.join();
    return std::unexpected(std::move(status).error());
  }
  return maker;
}

SocketMaker::~SocketMaker() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  want_more_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SocketMaker::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (pool_.size() >= pool_size_ || error_) {
      // After a failure, wait for a taker to collect it before retrying, so EMFILE never spins.
      want_more_.wait(lock, [&] { return stopping_ || (pool_.size() < pool_size_ && !error_); });
      continue;
    }
    lock.unlock();
    int fd = ::socket(domain_, type_, 0);
    int err = errno;
    lock.lock();
    if (fd < 0) {
      error_ = fail_errno("create socket", err).error();
    } else {
      pool_.emplace_back(fd);
    }
    ready_.notify_all();
  }
}

Result<UniqueFd> SocketMaker::take() {
  std::unique_lock lock(mu_);
  bool ok = ready_.wait_for(lock, std::chrono::seconds(5),
                            [&] { return !pool_.empty() || error_.has_value(); });
  if (!ok) return fail("create socket: socket maker thread did not answer within 5s");
  if (pool_.empty()) {
    Error e = std::move(*error_);
    error_.reset();
    want_more_.notify_one();
    return std::unexpected(std::move(e));
  }
  UniqueFd fd = std::move(pool_.front());
  pool_.pop_front();
  want_more_.notify_one();
  return fd;
}

}  // namespace slipway::netns
