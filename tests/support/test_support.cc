#include "tests/support/test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/fs.h"
#include "runtime/cgroups.h"

extern char** environ;

namespace slipway::testing {

namespace stdfs = std::filesystem;

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input,
                          const std::vector<std::string>& extra_env) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) abort();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // extra_env entries replace the same variables of this process's environment.
  auto key_of = [](const std::string& kv) { return kv.substr(0, kv.find('=') + 1); };
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    bool replaced = std::any_of(extra_env.begin(), extra_env.end(),
                                [&](const std::string& x) { return key_of(x) == key_of(kv); });
    if (!replaced) env_store.push_back(std::move(kv));
  }
  for (auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid;
  CommandResult r;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    close(err[0]);
    r.err = "spawn failed: " + std::string(strerror(rc));
    return r;
  }
  // Feed stdin and drain both outputs without deadlocking.
  size_t written = 0;
  if (input.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  std::string* bufs[2] = {&r.out, &r.err};
  int fds[2] = {out[0], err[0]};
  int open_count = 2;
  while (open_count > 0 || in[1] >= 0) {
    pollfd p[3];
    int n = 0;
    int map[3];
    for (int i = 0; i < 2; ++i)
      if (fds[i] >= 0) {
        p[n] = {fds[i], POLLIN, 0};
        map[n++] = i;
      }
    if (in[1] >= 0) {
      p[n] = {in[1], POLLOUT, 0};
      map[n++] = 2;
    }
    if (poll(p, n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int k = 0; k < n; ++k) {
      if (!p[k].revents) continue;
      if (map[k] == 2) {
        ssize_t w = write(in[1], input.data() + written, input.size() - written);
        if (w > 0) written += w;
        if (w < 0 || written == input.size()) {
          close(in[1]);
          in[1] = -1;
        }
        continue;
      }
      char buf[8192];
      ssize_t got = read(fds[map[k]], buf, sizeof buf);
      if (got > 0) {
        bufs[map[k]]->append(buf, got);
      } else {
        close(fds[map[k]]);
        fds[map[k]] = -1;
        --open_count;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

std::string last_line(const std::string& text) {
  std::string s = text;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s.substr(s.rfind('\n') + 1);
}

int count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

bool is_root() { return geteuid() == 0; }
std::string slipway_binary() { return SLIPWAY_BINARY; }
std::string probe_binary() { return SLIPWAY_PROBE; }
std::string source_dir() { return SLIPWAY_SOURCE_DIR; }
std::string busybox_layout() { return std::string(SLIPWAY_TEST_IMAGES) + "/busybox"; }
std::string redis_layout() { return std::string(SLIPWAY_TEST_IMAGES) + "/redis"; }
std::string python_layout() { return std::string(SLIPWAY_TEST_IMAGES) + "/python"; }

std::string shared_dir() {
  const char* env = std::getenv("SLIPWAY_SHARED_DIR");
  std::string dir = env ? env : std::string(SLIPWAY_SOURCE_DIR) + "/../shared";
  std::error_code ec;
  if (!stdfs::is_directory(dir, ec)) return "";
  return stdfs::canonical(dir, ec).string();
}

TempDir::TempDir(const std::string& prefix, const std::string& base) {
  stdfs::path dir = base.empty() ? stdfs::temp_directory_path() : stdfs::path(base);
  std::string templ = (dir / (prefix + ".XXXXXX")).string();
  if (!mkdtemp(templ.data())) abort();
  path_ = templ;
}

TempDir::~TempDir() { (void)fs::remove_tree(path_); }

namespace {

// The container id in a name of the store's directory: "<id>", or ".<id>.<pid>" for a record being
// created or removed; "" for anything else.
std::string container_id_of(std::string_view name) {
  if (name.starts_with('.')) name = name.substr(1, name.find('.', 1) - 1);
  if (name.size() != 64 || name.find_first_not_of("0123456789abcdef") != std::string_view::npos)
    return "";
  return std::string(name);
}

}  // namespace

void RootTest::SetUp() {
  if (!is_root()) GTEST_SKIP() << "needs root (namespaces, mounts, cgroups); run as root";
  root_ = std::make_unique<TempDir>("slipway-root");
  run_root_ = std::make_unique<TempDir>("slipway-run", "/dev/shm");
  // Each test root's default network (builds use it) gets a subnet of its own: test processes run
  // in parallel, and two bridges with one subnet would break both. Pids of concurrent tests are
  // close together, so (pid % 100, pid / 100 % 256) differ.
  int pid = ::getpid();
  ::setenv("SLIPWAY_DEFAULT_SUBNET", fmt::format("10.{}.{}.0/24", 100 + pid % 100, pid / 100 % 256).c_str(), 1);
  // Every record is renamed into <run root>/containers/<id>, so a watch made before the first
  // command names every container of this test. The store is made here as slipway makes it.
  std::string store = run_root_->path() + "/containers";
  ASSERT_TRUE(fs::make_dirs(store + "/names", 0700));
  store_watch_ = UniqueFd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  ASSERT_TRUE(store_watch_.valid()) << "inotify_init1: " << std::strerror(errno);
  ASSERT_GE(::inotify_add_watch(store_watch_.get(), store.c_str(), IN_CREATE | IN_MOVED_TO), 0)
      << "watch " << store << ": " << std::strerror(errno);
}

std::set<std::string> RootTest::containers_seen() {
  alignas(inotify_event) char buf[64 * 1024];
  ssize_t n;
  while (store_watch_ && (n = ::read(store_watch_.get(), buf, sizeof buf)) > 0) {
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      if (e->mask & IN_Q_OVERFLOW) ADD_FAILURE() << "inotify queue overflow: containers missed";
      if (e->len > 0) {
        if (std::string id = container_id_of(e->name); !id.empty()) ids_seen_.insert(id);
      }
      p += sizeof(inotify_event) + e->len;
    }
  }
  // Records still there, in case a test replaced the watched directory.
  if (auto names = fs::list_dir(run_root_->path() + "/containers"))
    for (const auto& name : *names)
      if (std::string id = container_id_of(name); !id.empty()) ids_seen_.insert(id);
  return ids_seen_;
}

void RootTest::TearDown() {
  if (!root_) return;
  // Networks go first (bridges and nftables rules are host-wide; builds make the default network),
  // and their DNS processes notice within a quarter second and end.
  bool removed_networks = false;
  for (const auto& file : fs::list_dir(fs::join(root_->path(), "networks")).value_or(std::vector<std::string>{})) {
    if (!file.ends_with(".json") || file.ends_with(".leases.json")) continue;
    auto rm = slipway({"network", "rm", file.substr(0, file.size() - 5)});
    EXPECT_EQ(rm.exit_code, 0) << rm.err;
    removed_networks = true;
  }
  for (int i = 0; removed_networks && i < 100 && !processes_containing(root_->path()).empty(); ++i) usleep(20000);
  // The root dir name is unique per test, so anything carrying it was made by this test.
  EXPECT_EQ(mounts_containing(root_->path()), std::vector<std::string>{}) << "mounts left behind";
  EXPECT_EQ(mounts_containing(run_root_->path()), std::vector<std::string>{}) << "mounts left behind";
  EXPECT_EQ(processes_containing(root_->path()), std::vector<int>{}) << "processes left behind";
  auto gc = slipway({"gc"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;
  // After gc: what a killed runtime left is gc's to remove; what is left now has no cleanup.
  std::set<std::string> ids = containers_seen();
  std::vector<std::string> left = container_cgroups(ids);
  EXPECT_EQ(left, std::vector<std::string>{})
      << "cgroups left behind by " << ids.size() << " container(s) of this test";
  if (!left.empty()) {
    // Do not leave them to the next test: kill what is inside and remove them.
    if (auto layout = runtime::detect_cgroup_layout())
      for (const auto& id : ids)
        if (auto cg = runtime::Cgroup::open_existing(*layout, runtime::container_cgroup_name(id)))
          (void)cg->destroy();
  }
  store_watch_.reset();
  ids_seen_.clear();
  root_.reset();
  run_root_.reset();
}

CommandResult RootTest::slipway(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {slipway_binary(), "--root", root_->path(), "--run-root",
                                   run_root_->path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, input);
}

void RootTest::load_busybox() {
  auto r = slipway({"image", "load", busybox_layout()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::vector<std::string> mounts_containing(const std::string& needle) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> found;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string f[5];
    for (auto& x : f) ls >> x;
    if (f[4].find(needle) != std::string::npos) found.push_back(f[4]);
  }
  return found;
}

std::vector<std::string> cgroups_containing(const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator("/sys/fs/cgroup", ec);
       !ec && it != stdfs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() > 4) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_directory(ec) && it->path().string().find(needle) != std::string::npos)
      found.push_back(it->path().string());
  }
  return found;
}

std::vector<std::string> host_mounts_outside_test_dirs() {
  std::vector<std::string> targets = mounts_containing("/");
  std::erase_if(targets, [](const std::string& t) { return t.starts_with("/tmp/") || t.starts_with("/var/tmp/"); });
  return targets;
}

void remove_empty_cgroups(const std::string& needle) {
  std::vector<std::string> dirs = cgroups_containing(needle);
  std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& dir : dirs) ::rmdir(dir.c_str());
}

std::vector<std::string> container_cgroups(const std::set<std::string>& ids) {
  std::vector<std::string> found;
  if (ids.empty()) return found;
  const std::string parent = "/slipway/";
  for (const auto& path : cgroups_containing(parent)) {
    size_t at = path.find(parent) + parent.size();
    if (ids.contains(path.substr(at, path.find('/', at) - at))) found.push_back(path);
  }
  return found;
}

std::vector<int> processes_containing(const std::string& needle) {
  std::vector<int> found;
  std::error_code ec;
  for (auto& e : stdfs::directory_iterator("/proc", ec)) {
    std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // read(2), not a stream: a process that exits meanwhile fails the read with ESRCH, which
    // libstdc++'s filebuf turns into an exception.
    std::string cmd;
    if (int fd = ::open((e.path() / "cmdline").c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) cmd.append(buf, static_cast<size_t>(n));
      ::close(fd);
    }
    if (cmd.find(needle) != std::string::npos && std::stoi(name) != getpid())
      found.push_back(std::stoi(name));
  }
  return found;
}

}  // namespace slipway::testing
