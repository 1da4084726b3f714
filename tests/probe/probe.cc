// slipway-probe: a tiny static program copied into test containers so tests assert on facts
// (as crun's tests do) rather than on shell output. Prints one JSON object on stdout.
//   slipway-probe facts         identity, capabilities, seccomp, mounts, fds, env
//   slipway-probe unshare       tries unshare(CLONE_NEWUTS) and reports the errno
//   slipway-probe orphan N      forks N children that exit at once, without waiting for them
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

using nlohmann::json;

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string status_field(const std::string& status, const std::string& key) {
  auto pos = status.find("\n" + key + ":");
  if (pos == std::string::npos) return "";
  pos += key.size() + 2;
  auto end = status.find('\n', pos);
  std::string v = status.substr(pos, end - pos);
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

json facts() {
  json j;
  j["pid"] = getpid();
  j["ppid"] = getppid();
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  j["hostname"] = host;
  j["uid"] = getuid();
  j["gid"] = getgid();
  char cwd[4096] = {};
  j["cwd"] = getcwd(cwd, sizeof cwd) ? cwd : "";
  std::string status = read_all("/proc/self/status");
  for (auto key : {"CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb", "Seccomp", "NoNewPrivs"})
    j[key] = status_field("\n" + status, key);
  json mounts = json::array();
  std::ifstream mi("/proc/self/mountinfo");
  for (std::string line; std::getline(mi, line);) {
    std::istringstream ls(line);
    std::string f[6];
    for (auto& x : f) ls >> x;
    auto dash = line.find(" - ");
    std::string fstype = dash == std::string::npos ? "" : line.substr(dash + 3, line.find(' ', dash + 3) - dash - 3);
    mounts.push_back({{"target", f[4]}, {"options", f[5]}, {"fstype", fstype}});
  }
  j["mounts"] = mounts;
  json fds = json::array();
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec);
    fds.push_back({{"fd", std::stoi(e.path().filename().string())}, {"target", target.string()}});
  }
  j["fds"] = fds;
  json env = json::array();
  for (char** e = environ; *e; ++e) env.push_back(*e);
  j["env"] = env;
  return j;
}

}  // namespace

int main(int argc, char** argv) {
  std::string cmd = argc > 1 ? argv[1] : "facts";
  if (cmd == "facts") {
    std::cout << facts().dump() << "\n";
    return 0;
  }
  if (cmd == "unshare") {
    int rc = unshare(CLONE_NEWUTS);
    int err = rc < 0 ? errno : 0;
    std::cout << json{{"rc", rc}, {"errno", err}, {"error", err ? strerror(err) : ""}}.dump() << "\n";
    return 0;
  }
  if (cmd == "orphan" && argc > 2) {
    int n = std::stoi(argv[2]);
    for (int i = 0; i < n; ++i)
      if (fork() == 0) _exit(0);
    std::cout << json{{"forked", n}}.dump() << "\n";
    return 0;
  }
  std::cerr << "usage: slipway-probe facts|unshare|orphan N\n";
  return 2;
}
