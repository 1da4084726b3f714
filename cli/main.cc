// slipway: daemonless container runtime and CI pipeline runner.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "base/log.h"
#include "cli/cli.h"

namespace slipway::cli {

void print_error(const Error& e) {
  std::string line = fmt::format("slipway: error: {}\n", e.message());
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace slipway::cli

int main(int argc, char** argv) {
  using namespace slipway::cli;
  // Broken pipes are errors to handle where they happen (a child that died), not a reason to die.
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"slipway: run containers, build images and run CI pipelines, without a daemon"};
  app.require_subcommand(1);
  app.fallthrough();
  GlobalOptions global;
  if (const char* env = std::getenv("SLIPWAY_ROOT")) global.root = env;
  if (const char* env = std::getenv("SLIPWAY_RUN_ROOT")) global.run_root = env;
  app.add_option("--root", global.root, "image store and caches (env SLIPWAY_ROOT)")
      ->capture_default_str();
  app.add_option("--run-root", global.run_root,
                 "container state, on a tmpfs by default (env SLIPWAY_RUN_ROOT)");
  Outcome outcome;
  register_container_commands(app, global, outcome);
  register_image_commands(app, global, outcome);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints help on --help (exit 0) and a message on bad usage; keep 125 for usage errors too.
    int rc = app.exit(e);
    return rc == 0 ? 0 : 125;
  }
  return outcome.exit_code;
}
