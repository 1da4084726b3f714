// A scripted HTTP/1.1 server for tests of HTTP clients (the registry client, egress from containers):
// a handler answers each request, and every request is recorded for the test to check. It listens
// on 127.0.0.1 unless told otherwise, in the network namespace of the thread that makes it.
#pragma once

#include <netinet/in.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace slipway::testing {

struct FakeRequest {
  std::string method, target;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string peer;  // the client's address, "198.51.100.1"
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool drop = false;  // close the connection without answering
};

// One thread per connection, keep-alive, Content-Length bodies, 100-continue. The handler runs on
// the connection's thread; the server stops and joins every thread when the object goes.
class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  // address: IPv4 in host byte order to listen on (INADDR_ANY for every interface).
  explicit FakeHttpServer(Handler handler, uint32_t address = INADDR_LOOPBACK);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:<port>"
  std::string host() const;

  // Every request so far, in the order they arrived.
  std::vector<FakeRequest> requests();
  // Requests with this method whose target starts with `target_prefix`.
  int count(const std::string& method, const std::string& target_prefix);
  // Connections accepted so far.
  int connections();

 private:
  void accept_loop();
  void serve(int fd, std::string peer);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> conn_fds_;
  std::vector<std::thread> workers_;
  std::vector<FakeRequest> requests_;
};

}  // namespace slipway::testing
