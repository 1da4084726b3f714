// A pipeline file (.slipway.yml) as plain data: what pipeline_file.cc parses and the engine runs.
// Every field has the default a user gets when the key is absent. `line` fields remember where a
// thing was written, so later errors (an unknown service, a bad image) can name file:line too.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/step_graph.h"

namespace slipway::pipeline {

// A command line. YAML `[a, b]` is taken as is; a YAML string `a b` becomes {"/bin/sh", "-c", "a b"}.
using CommandLine = std::vector<std::string>;

// How the engine knows a started container is ready: a TCP connect to `port`, or, when `http_path`
// is set, an HTTP/1.0 GET of that path on `port` answered with a 2xx or 3xx status.
struct ReadinessProbe {
  int port = 0;
  std::string http_path;         // empty: TCP probe
  double timeout_seconds = 30;   // give up (step fails) after this long
  double interval_seconds = 0.01;
};

// `healthcheck:` of a service (Compose's keys): a shell command run inside it; the service is
// ready once the command succeeds (Docker's health states), checked every interval.
struct HealthSpec {
  std::string test;
  double interval_seconds = 1;  // Docker's default is 30 s; here it is a readiness probe
  double timeout_seconds = 30;
  int retries = 3;
  double start_period_seconds = 0;
  double wait_seconds = 120;  // give up (the step fails) when not healthy by then
};

// Data copied fresh into a service on every start: `source` (a host directory, absolute or
// relative to the directory of the pipeline file) shown at `target` as a copy-on-write overlay.
struct Snapshot {
  std::string source;
  std::string target;
};

// One backend service container (a redis, a database...).
struct ServiceSpec {
  std::string name;  // container name and DNS name on the set's network
  std::string image;
  CommandLine command;                 // empty: the image's default
  std::map<std::string, std::string> env;
  int port = 0;                        // the port it serves on (readiness, integration forwards)
  std::optional<ReadinessProbe> ready; // default: TCP on `port` when port is set
  std::optional<HealthSpec> healthcheck;  // also waited for, before `ready`
  std::vector<Snapshot> snapshots;
  int line = 0;
};

// A named set of services: `dev` (host network, default ports) or `prodlike` (own bridge network,
// own IPs, names resolved by the network's DNS with the search domain).
struct ServiceSetSpec {
  std::string name;
  std::string network = "host";  // "host", or a bridge network made by slipway
  std::string subnet;            // for a bridge network; empty: chosen by `network create`
  std::string domain;            // search domain on that network; empty: none
  std::vector<ServiceSpec> services;
  int line = 0;
};

// The application: how its image is built and how it runs.
struct AppSpec {
  std::string name;  // image repository (tagged with the commit id) and deployed service name
  std::string dockerfile = "Dockerfile";  // relative to the repository root
  std::string context = ".";              // relative to the repository root
  std::string target;                     // Dockerfile stage for the tested image; empty: last
  std::map<std::string, std::string> build_args;
  CommandLine command;                    // empty: the image's default
  std::map<std::string, std::string> env;
  int port = 0;                           // where the app listens
  ReadinessProbe ready;                   // port defaults to `port`
};

// What a step does. kCommands runs a script in any image; the others are the seed's steps with
// their fixed meaning (docs/pipeline-file.md): build the app image, test it against a service set,
// test it next to the running app in a networkholder, deploy it with a name switch, test the
// deployed app, push it.
enum class StepType { kCommands, kBuild, kUnit, kIntegration, kDeploy, kLive, kPush };

// "commands", "build", "unit"...: as a file writes it.
constexpr std::string_view to_string(StepType type) {
  constexpr std::string_view kNames[] = {"commands", "build", "unit", "integration", "deploy", "live", "push"};
  return kNames[static_cast<int>(type)];
}

// `when:` of a step: it runs only where every written condition holds.
struct WhenSpec {
  std::vector<std::string> branches;      // glob patterns (fnmatch); empty: any branch
  std::vector<std::string> environments;  // environment names; empty: any
  std::vector<std::string> events;        // push | manual | watch; empty: any
  WhenStatus status = WhenStatus::kSuccess;
};

// The image a step names as `app`: the one built from this commit.
inline constexpr const char* kAppImage = "app";
// Where the checkout is mounted in the steps.
inline constexpr const char* kWorkspacePath = "/workspace";

// A secret a step names (secrets.h): its value reaches the step's containers as the environment
// variable NAME, or as the file /run/secrets/NAME.
struct SecretUse {
  std::string name;
  bool as_file = false;
};

// Directories kept from run to run (caches.h): `key` (a template, `{{ checksum "FILE" }}` and
// ${VARIABLES}) picks the copy; `paths` are mounted from it, absolute or relative to /workspace.
struct CacheSpec {
  std::string key;
  std::vector<std::string> paths;
};

// One step of the pipeline.
struct StepSpec {
  std::string name;  // [a-z0-9][a-z0-9-]*: names its log, its containers and its dependents
  StepType type = StepType::kCommands;
  std::string image;  // kAppImage, or any image reference; empty: the app image (seed steps)
  // A script (commands steps, or a seed test step's `commands:`): run with `sh -e`, each command
  // echoed to the log first. Empty: `command` is run as it is.
  std::vector<std::string> commands;
  CommandLine command;  // seed test steps' `command:`
  std::map<std::string, std::string> env;  // values may use ${CI_...} (variables.h)
  std::string services;  // a service set the step reaches; empty: none
  // As parsed: what the file wrote, plus the implicit ones (the step before it when no step has
  // depends_on; the build step for steps that use the app image). See PipelineSpec::steps.
  std::vector<std::string> depends_on;
  bool depends_on_written = false;  // `depends_on: []` starts at once
  WhenSpec when;
  double timeout_seconds = 600;
  int retry = 0;         // more attempts after a failed one
  std::string network;   // none | host | default | NETWORK; empty: the service set's, else default
  std::string workdir;   // empty: /workspace for commands steps, the image's own for seed steps
  // integration: ports of the networkholder's localhost forwarded to the same port on the host's
  // 127.0.0.1 (where the dev services listen); empty: every port of the set's services.
  std::vector<int> forward;
  std::map<std::string, std::string> app_env;  // integration: added to the app's env
  std::vector<SecretUse> secrets;
  // Glob patterns of workspace files copied into the run directory after the step, pass or fail.
  std::vector<std::string> artifacts;
  std::vector<std::string> junit_reports;  // `reports: {junit: [...]}`: globs, as artifacts
  std::vector<CacheSpec> caches;
  int line = 0;
};

// Where a successful build is pushed, in the environments that push.
struct PushSpec {
  bool enabled = false;
  std::string registry;    // host[:port]
  std::string repository;  // default: app name
  std::vector<std::string> tags;  // pushed in addition to the commit id
  std::string target;      // Dockerfile stage to push (e.g. a stripped one); empty: the tested image
  bool plain_http = false;
  int line = 0;
};

struct EnvironmentSpec {
  std::string name;     // testing, staging...
  bool push = false;    // run the push step
  std::string service;  // DNS name of the deployed app; empty: app.name
};

struct PipelineSpec {
  // The step called `name`, or nullptr.
  const StepSpec* step(std::string_view name) const {
    for (const auto& s : steps)
      if (s.name == name) return &s;
    return nullptr;
  }

  std::string file;  // path it was read from, for messages
  // When the images of steps, services and FROM lines are pulled: missing (not in the store),
  // always (every run follows moved tags), never.
  std::string pull = "missing";
  AppSpec app;  // app.name empty: the pipeline builds no app image
  std::map<std::string, ServiceSetSpec> service_sets;
  // In the order they were written. Without any depends_on in the file, each step follows the one
  // before it (failure and always steps follow them all); once one step has depends_on, a step
  // without it starts at once. Steps that use the app image depend on the build step.
  std::vector<StepSpec> steps;
  PushSpec push;
  // Default when absent: testing (no push) and staging (push).
  std::map<std::string, EnvironmentSpec> environments;
};

}  // namespace slipway::pipeline
