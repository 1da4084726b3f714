#include "tests/support/fake_http_server.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <string_view>

namespace slipway::testing {
namespace {

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

FakeHttpServer::FakeHttpServer(Handler handler, uint32_t address) : handler_(std::move(handler)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(address);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) abort();
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  ::listen(listen_fd_, 16);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeHttpServer::~FakeHttpServer() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
  ::close(listen_fd_);
}

std::string FakeHttpServer::host() const {
  return fmt::format("127.0.0.1:{}", port_);
}

std::vector<FakeRequest> FakeHttpServer::requests() {
  std::lock_guard lock(mu_);
  return requests_;
}

int FakeHttpServer::count(const std::string& method, const std::string& target_prefix) {
  int n = 0;
  for (const auto& r : requests())
    if (r.method == method && r.target.starts_with(target_prefix)) ++n;
  return n;
}

int FakeHttpServer::connections() {
  std::lock_guard lock(mu_);
  return static_cast<int>(conn_fds_.size());
}

void FakeHttpServer::accept_loop() {
  for (;;) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&from), &from_len, SOCK_CLOEXEC);
    if (fd < 0) return;
    char peer[INET_ADDRSTRLEN] = "";
    ::inet_ntop(AF_INET, &from.sin_addr, peer, sizeof peer);
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    conn_fds_.push_back(fd);
    workers_.emplace_back([this, fd, p = std::string(peer)] { serve(fd, p); });
  }
}

void FakeHttpServer::serve(int fd, std::string peer) {
  std::string buf;
  char chunk[65536];
  auto fill = [&]() {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
    return true;
  };
  for (;;) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return;
    FakeRequest req;
    req.peer = peer;
    std::string head = buf.substr(0, end);
    buf.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string first = head.substr(0, line_end);
    req.method = first.substr(0, first.find(' '));
    req.target = first.substr(req.method.size() + 1, first.rfind(' ') - req.method.size() - 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string line = head.substr(pos, next - pos);
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(c));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      req.headers[name] = value;
      pos = next + 2;
    }
    size_t length =
        req.headers.contains("content-length") ? std::stoul(req.headers["content-length"]) : 0;
    if (req.header("expect") == "100-continue" && length > 0)
      if (!send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n")) return;
    while (buf.size() < length)
      if (!fill()) return;
    req.body = buf.substr(0, length);
    buf.erase(0, length);
    {
      std::lock_guard lock(mu_);
      requests_.push_back(req);
    }
    FakeResponse resp = handler_(req);
    if (resp.drop) {
      ::shutdown(fd, SHUT_RDWR);
      return;
    }
    std::string out = fmt::format("HTTP/1.1 {} X\r\n", resp.status);
    bool has_length = false;
    for (const auto& [k, v] : resp.headers) {
      out += fmt::format("{}: {}\r\n", k, v);
      has_length = has_length || k == "Content-Length";
    }
    if (!has_length) out += fmt::format("Content-Length: {}\r\n", resp.body.size());
    out += "\r\n";
    if (req.method != "HEAD") out += resp.body;
    if (!send_all(fd, out)) return;
  }
}

}  // namespace slipway::testing
