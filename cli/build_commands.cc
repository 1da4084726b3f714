// `slipway build`: a Dockerfile and a context directory -> an image in the store, tagged.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "base/fs.h"
#include "base/scope_exit.h"
#include "cli/cli.h"
#include "oci/build/engine.h"
#include "oci/build/output.h"
#include "oci/dockerfile/instructions.h"
#include "oci/dockerfile/dockerignore.h"
#include "oci/reference.h"
#include "engine/build_runner.h"

extern char** environ;

namespace slipway::cli {
namespace {

struct BuildArgs {
  std::vector<std::string> tags;
  std::string file;
  std::vector<std::string> build_args;
  std::string target;
  bool no_cache = false;
  std::string network = "none";
  std::vector<std::string> outputs;
  bool quiet = false;
  std::string context;
};

// SIGINT, SIGTERM and SIGHUP stop the build: a flag the builder polls, and a pipe that turns
// readable so that a running RUN step is killed at once.
std::atomic<bool> g_interrupted{false};
int g_interrupt_pipe = -1;

void on_interrupt(int) {
  g_interrupted.store(true);
  char c = 1;
  (void)!::write(g_interrupt_pipe, &c, 1);
}

class InterruptGuard {
 public:
  static Result<std::unique_ptr<InterruptGuard>> install() {
    auto guard = std::unique_ptr<InterruptGuard>(new InterruptGuard());
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return fail_errno("create interrupt pipe");
    guard->read_.reset(fds[0]);
    guard->write_.reset(fds[1]);
    g_interrupt_pipe = fds[1];
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &sa, &guard->old_[i]);
    return guard;
  }
  ~InterruptGuard() {
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &old_[i], nullptr);
    g_interrupt_pipe = -1;
  }
  int fd() const { return read_.get(); }

 private:
  InterruptGuard() = default;
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  UniqueFd read_, write_;
  struct sigaction old_[std::size(kSignals)]{};
};

Result<int64_t> parse_epoch(std::string_view text, std::string_view where) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 0)
    return fail("invalid SOURCE_DATE_EPOCH \"{}\" from {}: seconds since 1970 expected", text,
                where);
  return v;
}

// True when dir or a parent holds .git: only then is git asked (it costs milliseconds).
bool in_git_work_tree(const std::string& dir) {
  std::error_code ec;
  for (auto p = std::filesystem::absolute(dir, ec); !ec && !p.empty(); p = p.parent_path()) {
    if (std::filesystem::exists(p / ".git", ec)) return true;
    if (p == p.parent_path()) break;
  }
  return false;
}

// The commit time of the context's git work tree, or nullopt when git or the work tree is absent.
std::optional<int64_t> git_commit_time(const std::string& dir) {
  if (!in_git_work_tree(dir)) return std::nullopt;
  int out[2];
  if (::pipe2(out, O_CLOEXEC) < 0) return std::nullopt;
  UniqueFd read_end(out[0]), write_end(out[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> argv = {"git", "-C", dir, "log", "-1", "--format=%ct"};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, "git", &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  write_end.reset();
  if (rc != 0) return std::nullopt;  // no git on this host
  std::string text;
  char buf[256];
  for (ssize_t n; (n = ::read(read_end.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  auto v = parse_epoch(text, "git");
  return v ? std::optional<int64_t>(*v) : std::nullopt;
}

// SOURCE_DATE_EPOCH: --build-arg SOURCE_DATE_EPOCH (as BuildKit takes it), the environment, the
// commit time of the context's git work tree, else 0.
Result<int64_t> source_date_epoch(const oci::VarMap& build_args, const std::string& context) {
  if (auto it = build_args.find("SOURCE_DATE_EPOCH"); it != build_args.end())
    return parse_epoch(it->second, "--build-arg");
  if (const char* env = std::getenv("SOURCE_DATE_EPOCH"); env && *env)
    return parse_epoch(env, "the environment");
  return git_commit_time(context).value_or(0);
}

Result<oci::VarMap> parse_build_args(const std::vector<std::string>& args) {
  oci::VarMap out;
  for (const auto& a : args) {
    auto eq = a.find('=');
    std::string key = a.substr(0, eq);
    if (key.empty()) return fail("invalid --build-arg \"{}\": the name is empty", a);
    if (eq != std::string::npos) {
      out[key] = a.substr(eq + 1);
    } else if (const char* env = std::getenv(key.c_str())) {
      out[key] = env;  // Docker: a bare NAME takes its value from the environment
    }
  }
  return out;
}

Result<int> do_build(const GlobalOptions& g, const BuildArgs& a) {
  auto started = std::chrono::steady_clock::now();
  if (a.network != "none" && a.network != "host")
    return fail("invalid --network {}: builds use none or host", a.network);
  for (const auto& t : a.tags) {
    oci::Reference ref = SLW_TRY(with_context(oci::parse_reference(t), fmt::format("-t {}", t)));
    if (!ref.digest.empty()) return fail("-t {}: a tag cannot pin a digest", t);
  }
  std::vector<oci::BuildOutput> outputs;
  for (const auto& o : a.outputs) outputs.push_back(SLW_TRY(oci::parse_build_output(o)));
  if (!fs::is_dir(a.context)) return fail("build context {} is not a directory", a.context);
  // The context's own Dockerfile is resolved inside the context: a symlink in it cannot make the
  // build read (and quote) a host file. A -f path is the user's own choice, as with Docker.
  std::string dockerfile = a.file.empty() ? fs::join(a.context, "Dockerfile") : a.file;
  std::string text = SLW_TRY(with_context(
      a.file.empty() ? fs::read_file_in_root(a.context, "Dockerfile") : fs::read_file(a.file),
      "read the Dockerfile"));
  std::string name = dockerfile.substr(dockerfile.rfind('/') + 1);
  oci::Dockerfile df = SLW_TRY(oci::parse_dockerfile(text, name));

  oci::BuildOptions options;
  options.build_args = SLW_TRY(parse_build_args(a.build_args));
  options.target = a.target;
  options.network = a.network;
  options.source_date_epoch = SLW_TRY(source_date_epoch(options.build_args, a.context));

  auto store = SLW_TRY(oci::ImageStore::open(g.root));
  // ADD <URL> downloads land next to the blobs (same file system, never /tmp's size limits).
  options.download_dir = store.blobs().tmp_dir();
  oci::FileLock hold = SLW_TRY(store.hold_for_build());
  oci::Dockerignore ignore = SLW_TRY(oci::load_dockerignore(a.context, dockerfile));
  oci::StorePlanInputs inputs(store, a.context, std::move(ignore));
  oci::BuildPlan plan = SLW_TRY(oci::plan_build(df, options, inputs));
  for (const auto& w : plan.warnings) fmt::print(stderr, "warning: {}\n", w);

  auto interrupts = SLW_TRY(InterruptGuard::install());
  engine::BuildRunner runner(
      g.root, [&g] { return run_root(g); }, interrupts->fd());
  oci::EngineOptions eo;
  eo.no_cache = a.no_cache;
  eo.tags = a.tags;
  eo.cancelled = [] { return g_interrupted.load(); };
  if (!a.quiet) eo.progress = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
  auto built = oci::run_build(plan, store, inputs, runner, eo);
  if (!built) {
    if (g_interrupted.load()) {
      print_error(Error(EINTR, "build interrupted: nothing was tagged"));
      return 130;
    }
    return std::unexpected(built.error());
  }
  for (const auto& out : outputs)
    SLW_TRY(with_context(oci::write_build_output(store, built->image, out, plan.source_date_epoch),
                         fmt::format("--output {}", out.path)));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started);
  if (!a.quiet) {
    std::string names;
    for (const auto& n : a.tags) names += (names.empty() ? " as " : ", ") + n;
    fmt::print(stderr,
               "built {}{} in {} ms: {} steps, {} of {} layer steps cached, {} containers\n",
               built->image.id, names, ms.count(), built->steps, built->cached, built->layer_steps,
               built->containers);
  }
  fmt::print("{}\n", built->image.id);
  return 0;
}

}  // namespace

void register_build_commands(CLI::App& app, const GlobalOptions& g, Outcome& outcome) {
  auto args = std::make_shared<BuildArgs>();
  auto build = app.add_subcommand("build", "build an image from a Dockerfile");
  build->add_option("-t,--tag", args->tags, "name the image NAME[:TAG] (repeatable)")
      ->allow_extra_args(false);
  build->add_option("-f,--file", args->file, "the Dockerfile (default: CONTEXT/Dockerfile)");
  build->add_option("--build-arg", args->build_args, "set a build arg K=V (K: from this env)")
      ->allow_extra_args(false);
  build->add_option("--target", args->target, "build this stage instead of the last");
  build->add_flag("--no-cache", args->no_cache, "run every step, ignoring the layer cache");
  build->add_option("--network", args->network, "RUN steps' network: none or host")
      ->capture_default_str();
  build
      ->add_option("--output,-o", args->outputs,
                   "also write the image: oci:DIR, oci-archive:FILE or docker-archive:FILE")
      ->allow_extra_args(false);
  build->add_flag("-q,--quiet", args->quiet, "print only the image id");
  build->add_option("CONTEXT", args->context, "the build context directory")->required();
  build->callback(
      [&g, &outcome, args] { run_command(outcome, [&] { return do_build(g, *args); }); });
}

}  // namespace slipway::cli
