// A pipeline file (.slipway.yml) as plain data: what pipeline_file.cc parses and the engine runs.
// Every field has the default a user gets when the key is absent. `line` fields remember where a
// thing was written, so later errors (an unknown service, a bad image) can name file:line too.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

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

// A step that runs one command in a container of `image` (default: the app image).
struct TestStep {
  bool enabled = false;  // present in the file
  std::string image;
  CommandLine command;
  std::map<std::string, std::string> env;
  double timeout_seconds = 600;
  int line = 0;
};

struct UnitStep : TestStep {
  std::string services = "dev";  // service set the tests reach on the host's localhost
};

struct IntegrationStep : TestStep {
  std::string services = "dev";
  // Ports of the networkholder's localhost forwarded to the same port on the host's 127.0.0.1
  // (where the dev services listen); empty: every port of the set's services.
  std::vector<int> forward;
  std::map<std::string, std::string> app_env;  // added to the app's env in this step
};

struct DeployStep {
  bool enabled = false;
  std::string services = "prodlike";  // the app joins this set's network
  std::map<std::string, std::string> env;  // added to the app's env in this step
  int line = 0;
};

struct LiveStep : TestStep {};

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
  std::string file;  // path it was read from, for messages
  // When the images of steps, services and FROM lines are pulled: missing (not in the store),
  // always (every run follows moved tags), never.
  std::string pull = "missing";
  AppSpec app;
  std::map<std::string, ServiceSetSpec> service_sets;
  UnitStep unit;
  IntegrationStep integration;
  DeployStep deploy;
  LiveStep live;
  PushSpec push;
  // Default when absent: testing (no push) and staging (push).
  std::map<std::string, EnvironmentSpec> environments;
};

}  // namespace slipway::pipeline
