// A private Debian docker-registry on 127.0.0.1 for e2e tests that push and pull.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace slipway::testing {

// A loopback TCP port nothing listens on at the moment of the call.
int free_port();
// Whether something accepts TCP connections on 127.0.0.1:port.
bool port_open(int port);

// Turns the one-image OCI layout at `layout` into a multi-platform one: index.json then names
// (as ref_name) an inner image index listing the layout's manifest once per architecture, as
// linux/ARCH, in the order given. Returns the inner index's digest; "" when the layout is unreadable.
std::string make_platform_index(const std::string& layout, const std::vector<std::string>& architectures,
                                const std::string& ref_name);

// docker-registry on 127.0.0.1 with its own config, storage and access log under dir; killed
// (and reaped) when the object goes, and with the test process if that dies first.
class LocalRegistry {
 public:
  static constexpr char kBinary[] = "/usr/bin/docker-registry";

  struct User {
    std::string name, password;
  };

  explicit LocalRegistry(const std::string& dir, std::optional<User> user = std::nullopt);
  ~LocalRegistry();
  LocalRegistry(const LocalRegistry&) = delete;
  LocalRegistry& operator=(const LocalRegistry&) = delete;

  // Why the registry did not start, or "" when it listens.
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string host() const;
  std::string ref(const std::string& repo_tag) const { return host() + "/" + repo_tag; }

  // Requests in the access log whose request line starts with `prefix`, e.g. "HEAD /v2/app/blobs/".
  int count(const std::string& prefix) const;
  // Its access log.
  std::string log_path() const { return dir_ + "/registry.log"; }
  // Where the registry keeps a blob's bytes.
  std::string blob_data(const std::string& digest) const;

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace slipway::testing
