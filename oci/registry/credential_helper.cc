#include "oci/registry/credential_helper.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/scope_exit.h"
#include "base/unique_fd.h"
#include "oci/registry/reference.h"

extern char** environ;

namespace slipway::oci {
namespace {

struct HelperResult {
  int exit_code = -1;
  std::string out;
};

// A helper name becomes part of a program name: no paths, no options.
Status check_helper_name(const std::string& helper) {
  if (helper.empty() || helper.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
                            std::string::npos)
    return fail("credential helper name \"{}\" is not valid", helper);
  return {};
}

// Runs docker-credential-HELPER ACTION with `input` on stdin; stdout and stderr come back as one
// text (helpers print their errors on stdout).
Result<HelperResult> run_helper(const std::string& helper, const char* action, std::string_view input) {
  SLW_TRY(check_helper_name(helper));
  std::string program = "docker-credential-" + helper;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0) return fail_errno("pipe");
  UniqueFd in_read(in[0]), in_write(in[1]), out_read(out[0]), out_write(out[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  ScopeExit destroy([&] { posix_spawn_file_actions_destroy(&fa); });
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  std::string action_arg = action;
  char* argv[] = {program.data(), action_arg.data(), nullptr};
  pid_t pid = -1;
  if (int rc = ::posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv, environ); rc != 0)
    return fail_errno(fmt::format("run {} (credsStore/credHelpers in the Docker config)", program), rc);
  in_read.reset();
  out_write.reset();
  // The input is small (a URL or one JSON object): it fits the pipe, so writing it first cannot
  // deadlock against the helper's output. SIGPIPE is ignored by the CLI: a helper that does not
  // read gives EPIPE here, not a dead process.
  (void)!::write(in_write.get(), input.data(), input.size());
  in_write.reset();
  HelperResult r;
  char buf[4096];
  for (ssize_t n; (n = ::read(out_read.get(), buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (r.out.size() < 1 << 20) r.out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
  return r;
}

// The one line a failed helper printed, or its exit status.
std::string helper_failure(const std::string& helper, const char* action, const HelperResult& r) {
  std::string why = r.out.substr(0, r.out.find('\n'));
  return fmt::format("docker-credential-{} {}: {}", helper, action,
                     why.empty() ? fmt::format("exit status {}", r.exit_code) : why);
}

bool not_found(const HelperResult& r) { return r.out.find("credentials not found") != std::string::npos; }

}  // namespace

std::string helper_server_url(std::string_view registry) {
  if (registry == kDockerHubRegistry || registry == "index.docker.io" || registry == kDockerHubApiHost)
    return "https://index.docker.io/v1/";
  return std::string(registry);
}

Result<std::optional<std::string>> credential_helper_for(std::string_view config_json, std::string_view registry) {
  auto doc = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail("not a JSON object");
  if (auto helpers = doc.find("credHelpers"); helpers != doc.end() && !helpers->is_null()) {
    if (!helpers->is_object()) return fail("field 'credHelpers' must be an object");
    for (const auto& key : {std::string(registry), helper_server_url(registry)}) {
      auto it = helpers->find(key);
      if (it == helpers->end()) continue;
      if (!it->is_string()) return fail("credHelpers entry '{}' must be a string", key);
      return std::optional<std::string>(it->get<std::string>());
    }
  }
  if (auto store = doc.find("credsStore"); store != doc.end() && !store->is_null()) {
    if (!store->is_string()) return fail("field 'credsStore' must be a string");
    if (!store->get<std::string>().empty()) return std::optional<std::string>(store->get<std::string>());
  }
  return std::optional<std::string>();
}

Result<std::optional<Credentials>> helper_get(const std::string& helper, std::string_view registry) {
  HelperResult r = SLW_TRY(run_helper(helper, "get", helper_server_url(registry)));
  if (r.exit_code != 0) {
    if (not_found(r)) return std::optional<Credentials>();
    return fail("{}", helper_failure(helper, "get", r));
  }
  auto doc = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("Username") || !doc.contains("Secret") ||
      !doc["Username"].is_string() || !doc["Secret"].is_string())
    return fail("docker-credential-{} get: the answer is not {{\"Username\", \"Secret\"}} JSON", helper);
  Credentials c{doc["Username"].get<std::string>(), doc["Secret"].get<std::string>()};
  // An identity token (Username "<token>") is not a password slipway can use with basic auth.
  if (c.username.empty() && c.password.empty()) return std::optional<Credentials>();
  return std::optional<Credentials>(std::move(c));
}

Status helper_store(const std::string& helper, std::string_view registry, const Credentials& creds) {
  nlohmann::json j = {{"ServerURL", helper_server_url(registry)}, {"Username", creds.username},
                      {"Secret", creds.password}};
  HelperResult r = SLW_TRY(run_helper(helper, "store", j.dump()));
  if (r.exit_code != 0) return fail("{}", helper_failure(helper, "store", r));
  return {};
}

Status helper_erase(const std::string& helper, std::string_view registry) {
  HelperResult r = SLW_TRY(run_helper(helper, "erase", helper_server_url(registry)));
  if (r.exit_code != 0 && !not_found(r)) return fail("{}", helper_failure(helper, "erase", r));
  return {};
}

}  // namespace slipway::oci
