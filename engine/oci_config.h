// An OCI bundle's config.json (runtime spec 1.0-1.2) as slipway's own container spec: the same
// launcher, mount plan, cgroups and seccomp as `slipway run`. Pure: reads no files and makes no
// syscalls, so every field is unit-tested without root. Errors name the field:
// `linux.namespaces[2].type: unknown namespace type "foo"`.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "runtime/container_spec.h"

namespace slipway::engine {

// One hook of config.json's `hooks`: run with the container's state on stdin.
struct OciHook {
  std::string path;  // absolute, in the runtime's mount namespace
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<std::chrono::seconds> timeout;
};

struct OciHooks {
  std::vector<OciHook> prestart;         // deprecated; run as createRuntime
  std::vector<OciHook> create_runtime;   // after the namespaces exist, in the runtime's namespace
  std::vector<OciHook> create_container; // after createRuntime; in the runtime's namespaces (warned)
  std::vector<OciHook> start_container;  // at start, before the command; runtime's namespaces too
  std::vector<OciHook> poststart;        // after start, in the runtime's namespace
  std::vector<OciHook> poststop;         // after delete, in the runtime's namespace
};

// Where the runtime keeps one container (the launcher's state dir) and its seccomp cache.
struct OciPlace {
  std::string id;
  std::string bundle;     // absolute bundle directory
  std::string state_dir;  // <root>/<id>
  std::string cache_dir;  // compiled seccomp filters; empty: none
};

struct OciBundle {
  runtime::ContainerSpec spec;
  std::string oci_version;
  std::map<std::string, std::string> annotations;
  OciHooks hooks;
  bool has_process = false;  // `process` present (required to create a container)
  // Fields slipway cannot honour on this host, each named: printed as warnings, never dropped
  // silently.
  std::vector<std::string> warnings;
};

// config.json's text -> the container it describes.
[[nodiscard]] Result<OciBundle> parse_oci_config(std::string_view json, const OciPlace& place);

// An `exec --process FILE`: the JSON of a process object (as config.json's `process`) replaces
// the bundle's process (args, env, cwd, user, capabilities, rlimits, noNewPrivileges, terminal).
[[nodiscard]] Status apply_oci_process(std::string_view json, OciBundle& bundle);

// `update --resources FILE`: the JSON of a linux.resources object. Warnings name what it cannot
// change.
[[nodiscard]] Result<runtime::ResourceSpec> parse_oci_resources(std::string_view json,
                                                                std::vector<std::string>& warnings);

// Mount options ("ro", "nosuid", "rbind", "rslave", "mode=755", ...) -> MS_* flags, propagation
// and the file-system data string, as mount(8) reads them.
struct ParsedMountOptions {
  unsigned long flags = 0;
  unsigned long propagation = 0;
  std::string data;
};
ParsedMountOptions parse_mount_options(const std::vector<std::string>& options);

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; nullopt for a name the kernel has no limit for.
std::optional<int> rlimit_from_name(std::string_view name);
std::string_view rlimit_name(int resource);  // "RLIMIT_NOFILE"; "RLIMIT_?" for an unknown one

// The default config.json of `slipway oci spec`: runc's, with `sh` as the command.
std::string default_oci_config();

}  // namespace slipway::engine
