// The command line registers only the group of commands it runs (main.cc's command_groups()):
// every command, and the sub-commands another group adds to it, must still be there when it is
// run alone, and the full help (every group, with the table checked) must list them all.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace slipway {
namespace {

using ::slipway::testing::run_command;

const std::vector<std::string> kCommands = {
    "run",    "ps",     "logs",   "stop",    "kill",    "rm",       "cp",       "start",   "restart", "exec",
    "inspect", "wait",  "gc",     "image",   "images",  "tag",      "network",  "push",    "pull",    "login",
    "logout", "build",  "pipeline", "services", "builder", "system", "oci"};

TEST(CliCommandsTest, TheFullHelpListsEveryCommand) {
  auto help = run_command({SLIPWAY_BINARY, "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  for (const auto& c : kCommands) EXPECT_NE(help.out.find("\n  " + c + " "), std::string::npos) << c;
}

TEST(CliCommandsTest, EachCommandAndWhatOthersAddToItWorkAlone) {
  for (const auto& c : kCommands) {
    auto help = run_command({SLIPWAY_BINARY, c, "--help"});
    EXPECT_EQ(help.exit_code, 0) << c << ": " << help.err;
  }
  // `image prune` comes from the prune group, which also needs `image` to exist.
  for (std::vector<std::string> args : {std::vector<std::string>{"image", "prune", "--help"},
                                        {"builder", "prune", "--help"},
                                        {"system", "prune", "--help"},
                                        {"--root", "/nonexistent", "image", "tag", "--help"},
                                        {"oci", "state", "--help"}}) {
    args.insert(args.begin(), SLIPWAY_BINARY);
    auto help = run_command(args);
    EXPECT_EQ(help.exit_code, 0) << args[1] << " " << args[2] << ": " << help.err;
  }
}

TEST(CliCommandsTest, AnUnknownCommandIsOneLineAndExit125) {
  auto bad = run_command({SLIPWAY_BINARY, "nosuchcommand"});
  EXPECT_EQ(bad.exit_code, 125);
  EXPECT_EQ(std::count(bad.err.begin(), bad.err.end(), '\n'), 1) << bad.err;
  EXPECT_EQ(bad.err.find("internal error"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace slipway
