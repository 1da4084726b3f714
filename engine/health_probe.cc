#include "engine/health_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "base/unique_fd.h"
#include "runtime/container_store.h"

extern char** environ;

namespace slipway::engine {

runtime::HealthProbeResult run_health_probe(const std::string& root, const std::string& run_root,
                                            const std::string& container_id, const runtime::HealthCheck& check) {
  runtime::HealthProbeResult result;
  result.start = runtime::now_rfc3339();
  auto finish = [&](int code, std::string output) {
    result.end = runtime::now_rfc3339();
    result.exit_code = code;
    result.output = std::move(output);
    return result;
  };
  std::vector<std::string> args = {"slipway", "--root", root, "--run-root", run_root, "exec", container_id};
  if (check.test.size() == 2 && check.test[0] == "CMD-SHELL") {
    args.insert(args.end(), {"/bin/sh", "-c", check.test[1]});
  } else if (check.test.size() >= 2 && check.test[0] == "CMD") {
    args.insert(args.end(), check.test.begin() + 1, check.test.end());
  } else {
    return finish(-1, "unsupported health check test");
  }
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return finish(-1, "health check: cannot create a pipe");
  UniqueFd read_end(out[0]), write_end(out[1]);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sigset_t none, all;
  ::sigemptyset(&none);
  ::sigfillset(&all);
  ::posix_spawnattr_setsigmask(&attr, &none);
  ::posix_spawnattr_setsigdefault(&attr, &all);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/proc/self/exe", &actions, &attr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  write_end.reset();
  if (rc != 0) return finish(-1, "health check: cannot start slipway exec");

  std::string output;
  bool timed_out = false;
  auto deadline = std::chrono::steady_clock::now() + check.timeout;
  char buf[4096];
  while (read_end) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    ssize_t got = ::read(read_end.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // every writer is gone: the exec and what it ran
    size_t room = runtime::kHealthOutputLimit - std::min(output.size(), runtime::kHealthOutputLimit);
    output.append(buf, std::min(static_cast<size_t>(got), room));
  }
  if (timed_out) ::kill(pid, SIGKILL);  // the command in the container dies with it (PDEATHSIG)
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out)
    return finish(-1, fmt::format("Health check exceeded timeout ({}ms)", check.timeout.count()));
  return finish(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), std::move(output));
}

}  // namespace slipway::engine
