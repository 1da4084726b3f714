#include "tests/support/local_registry.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "oci/digest.h"
#include "tests/support/test_support.h"

namespace slipway::testing {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0)
    abort();
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

LocalRegistry::LocalRegistry(const std::string& dir, std::optional<User> user)
    : dir_(dir), port_(free_port()) {
  std::string config = fmt::format(R"(version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {}/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{}
)",
                                   dir, port_);
  if (user) {
    auto hash = run_command({"htpasswd", "-Bbn", user->name, user->password});
    if (hash.exit_code != 0) {
      error_ = "htpasswd failed: " + hash.err;
      return;
    }
    if (!fs::write_file(dir + "/htpasswd", hash.out)) abort();
    config +=
        fmt::format("auth:\n  htpasswd:\n    realm: slipway-test\n    path: {}/htpasswd\n", dir);
  }
  if (!fs::write_file(dir + "/config.yml", config)) abort();
  std::string log = dir + "/registry.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::string cfg = dir + "/config.yml";
    ::execl(kBinary, kBinary, "serve", cfg.c_str(), nullptr);
    ::_exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!port_open(port_)) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "docker-registry exited: " + fs::read_file(log).value_or("");
      return;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      error_ = "docker-registry did not listen within 15 s";
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

LocalRegistry::~LocalRegistry() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

std::string LocalRegistry::host() const {
  return fmt::format("127.0.0.1:{}", port_);
}

int LocalRegistry::count(const std::string& prefix) const {
  std::string log = fs::read_file(dir_ + "/registry.log").value_or("");
  int n = 0;
  for (size_t at = 0; (at = log.find("\"" + prefix, at)) != std::string::npos; ++at) ++n;
  return n;
}

std::string LocalRegistry::blob_data(const std::string& digest) const {
  std::string hex = digest.substr(7);
  return fmt::format("{}/storage/docker/registry/v2/blobs/sha256/{}/{}/data", dir_,
                     hex.substr(0, 2), hex);
}

std::string make_platform_index(const std::string& layout, const std::vector<std::string>& architectures,
                                const std::string& ref_name) {
  auto top = nlohmann::json::parse(fs::read_file(layout + "/index.json").value_or(""), nullptr, false);
  if (top.is_discarded() || !top.contains("manifests") || top["manifests"].empty()) return "";
  nlohmann::json entry = top["manifests"][0];
  entry.erase("annotations");
  nlohmann::json manifests = nlohmann::json::array();
  for (const auto& arch : architectures) {
    entry["platform"] = {{"os", "linux"}, {"architecture", arch}};
    manifests.push_back(entry);
  }
  nlohmann::json inner = {{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.index.v1+json"},
                          {"manifests", manifests}};
  std::string text = inner.dump();
  std::string digest = oci::sha256_digest(text);
  if (!fs::write_file(layout + "/blobs/sha256/" + digest.substr(7), text)) return "";
  nlohmann::json outer = {{"schemaVersion", 2},
                          {"manifests",
                           {{{"mediaType", "application/vnd.oci.image.index.v1+json"},
                             {"digest", digest},
                             {"size", text.size()},
                             {"annotations", {{"org.opencontainers.image.ref.name", ref_name}}}}}}};
  if (!fs::write_file(layout + "/index.json", outer.dump())) return "";
  return digest;
}

}  // namespace slipway::testing
