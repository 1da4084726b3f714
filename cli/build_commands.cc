// `slipway build`: a Dockerfile and a context directory -> an image in the store, tagged.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>

#include "base/unique_fd.h"
#include "cli/cli.h"
#include "engine/build_image.h"

namespace slipway::cli {
namespace {

struct BuildArgs {
  std::vector<std::string> tags;
  std::string file;
  std::vector<std::string> build_args;
  std::string target;
  bool no_cache = false;
  std::string network = "default";
  std::vector<std::string> outputs;
  bool quiet = false;
  std::string pull = "missing";
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
  auto interrupts = SLW_TRY(InterruptGuard::install());
  engine::ImageBuild build{
      .root = g.root,
      .run_root = [&g] { return run_root(g); },
      .context = a.context,
      .file = a.file,
      .tags = a.tags,
      .build_args = SLW_TRY(parse_build_args(a.build_args)),
      .target = a.target,
      .network = a.network,
      .no_cache = a.no_cache,
      .outputs = a.outputs,
      .cancel_fd = interrupts->fd(),
      .cancelled = [] { return g_interrupted.load(); },
      .progress = nullptr,
      .warn = [](std::string_view w) { fmt::print(stderr, "warning: {}\n", w); },
      .images = {},
  };
  if (!a.quiet) build.progress = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
  auto progress = a.quiet ? nullptr : pull_progress();
  build.images = {.policy = SLW_TRY(engine::parse_pull_policy(a.pull)),
                  .progress = progress.get(),
                  .note = a.quiet ? nullptr : print_note};
  auto built = engine::build_image(build);
  if (!built) {
    if (g_interrupted.load()) {
      print_error(Error(EINTR, "build interrupted: nothing was tagged"));
      return 130;
    }
    return std::unexpected(built.error());
  }
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
  build->add_option("--network", args->network, "RUN steps' network: default (a bridge with egress), none or host")
      ->capture_default_str();
  build
      ->add_option("--output,-o", args->outputs,
                   "also write the image: oci:DIR, oci-archive:FILE or docker-archive:FILE")
      ->allow_extra_args(false);
  build->add_flag("-q,--quiet", args->quiet, "print only the image id");
  build->add_option("--pull", args->pull, "pull FROM images: missing (when not in the store), always or never")
      ->capture_default_str();
  build->add_option("CONTEXT", args->context, "the build context directory")->required();
  build->callback(
      [&g, &outcome, args] { run_command(outcome, [&] { return do_build(g, *args); }); });
}

}  // namespace slipway::cli
