// The pipeline file parser: a full file into PipelineSpec, defaults, and one-line FILE:LINE errors.
#include "pipeline/pipeline_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "base/fs.h"
#include "tests/support/test_support.h"

namespace slipway::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kFile = ".slipway.yml";

// Line numbers below refer to this text: line 1 is "app:".
constexpr const char* kFull = R"(app:
  name: hello-app
  dockerfile: build/Dockerfile
  context: src
  target: full
  build_args: {VERSION: "1.0", JOBS: 4}
  command: [httpd, -f]
  env: {REDIS_ADDR: "127.0.0.1:6379", DEBUG: true}
  port: 8080
  ready: {http: /health, timeout: 30, interval: 0.5}
services:
  dev:
    services:
      - name: redis
        image: slipway/redis
        command: [redis-server, --port, "6379", --save, ""]
        env: {K: V}
        port: 6379
        ready: {port: 6380, timeout: 10}
  prodlike:
    network: prodlike
    subnet: 172.30.0.0/24
    domain: ci.example.test
    services:
      - name: redis-cluster-a-node-1
        image: slipway/redis
        port: 6379
        snapshots:
          - {source: snapshots/redis, target: /data}
      - name: worker
        image: busybox
        healthcheck: {test: "test -f /ready", interval: 0.5, retries: 5, wait: 30}
steps:
  unit:
    command: sh test/unit.sh
    env: {A: 1}
    timeout: 120
  integration:
    image: slipway/tester:1
    command: [sh, test/integration.sh]
    forward: [6379, 8081]
    app_env: {MODE: test}
    services: dev
  deploy:
    env: {STAGE: x}
  live:
    command: test/live.sh
    timeout: 2.5
push:
  registry: 127.0.0.1:5000
  tags: [staging, v1.0]
  target: stripped
  plain_http: yes
environments:
  testing: {push: false}
  staging: {push: true, service: hello-app-staging}
)";

Result<PipelineSpec> parse(const std::string& text) {
  return parse_pipeline_file(text, kFile);
}

// The error message of parsing `text`; fails the test when it parses.
std::string error_of(const std::string& text) {
  auto spec = parse(text);
  EXPECT_FALSE(spec) << "parsed:\n" << text;
  return spec ? "" : spec.error().message();
}

TEST(PipelineFileTest, FullFileRoundTrips) {
  auto parsed = parse(kFull);
  ASSERT_TRUE(parsed) << parsed.error().message();
  const PipelineSpec& spec = *parsed;
  EXPECT_EQ(spec.file, kFile);

  EXPECT_EQ(spec.app.name, "hello-app");
  EXPECT_EQ(spec.app.dockerfile, "build/Dockerfile");
  EXPECT_EQ(spec.app.context, "src");
  EXPECT_EQ(spec.app.target, "full");
  EXPECT_EQ(spec.app.build_args,
            (std::map<std::string, std::string>{{"VERSION", "1.0"}, {"JOBS", "4"}}));
  EXPECT_EQ(spec.app.command, (CommandLine{"httpd", "-f"}));
  EXPECT_EQ(spec.app.env.at("REDIS_ADDR"), "127.0.0.1:6379");
  EXPECT_EQ(spec.app.env.at("DEBUG"), "true");
  EXPECT_EQ(spec.app.port, 8080);
  EXPECT_EQ(spec.app.ready.port, 8080);  // from app.port
  EXPECT_EQ(spec.app.ready.http_path, "/health");
  EXPECT_EQ(spec.app.ready.timeout_seconds, 30);
  EXPECT_EQ(spec.app.ready.interval_seconds, 0.5);

  ASSERT_EQ(spec.service_sets.size(), 2u);
  const ServiceSetSpec& dev = spec.service_sets.at("dev");
  EXPECT_EQ(dev.name, "dev");
  EXPECT_EQ(dev.line, 12);
  EXPECT_EQ(dev.network, "host");
  EXPECT_EQ(dev.subnet, "");
  ASSERT_EQ(dev.services.size(), 1u);
  const ServiceSpec& redis = dev.services[0];
  EXPECT_EQ(redis.name, "redis");
  EXPECT_EQ(redis.line, 14);
  EXPECT_EQ(redis.image, "slipway/redis");
  EXPECT_EQ(redis.command, (CommandLine{"redis-server", "--port", "6379", "--save", ""}));
  EXPECT_EQ(redis.env.at("K"), "V");
  EXPECT_EQ(redis.port, 6379);
  ASSERT_TRUE(redis.ready);
  EXPECT_EQ(redis.ready->port, 6380);
  EXPECT_EQ(redis.ready->timeout_seconds, 10);
  EXPECT_EQ(redis.ready->interval_seconds, 0.01);
  EXPECT_EQ(redis.ready->http_path, "");

  const ServiceSetSpec& prodlike = spec.service_sets.at("prodlike");
  EXPECT_EQ(prodlike.line, 20);
  EXPECT_EQ(prodlike.network, "prodlike");
  EXPECT_EQ(prodlike.subnet, "172.30.0.0/24");
  EXPECT_EQ(prodlike.domain, "ci.example.test");
  ASSERT_EQ(prodlike.services.size(), 2u);
  const ServiceSpec& node = prodlike.services[0];
  EXPECT_EQ(node.line, 25);
  ASSERT_TRUE(node.ready);  // default: TCP on the service's port
  EXPECT_EQ(node.ready->port, 6379);
  EXPECT_EQ(node.ready->http_path, "");
  ASSERT_EQ(node.snapshots.size(), 1u);
  EXPECT_EQ(node.snapshots[0].source, "snapshots/redis");
  EXPECT_EQ(node.snapshots[0].target, "/data");
  EXPECT_EQ(prodlike.services[1].line, 30);
  EXPECT_FALSE(prodlike.services[1].ready);  // no port: nothing to probe
  EXPECT_TRUE(prodlike.services[1].command.empty());
  ASSERT_TRUE(prodlike.services[1].healthcheck);
  EXPECT_EQ(prodlike.services[1].healthcheck->test, "test -f /ready");
  EXPECT_EQ(prodlike.services[1].healthcheck->interval_seconds, 0.5);
  EXPECT_EQ(prodlike.services[1].healthcheck->retries, 5);
  EXPECT_EQ(prodlike.services[1].healthcheck->wait_seconds, 30);
  EXPECT_EQ(prodlike.services[1].healthcheck->timeout_seconds, 30) << "the default";
  EXPECT_FALSE(prodlike.services[0].healthcheck);

  // The map form is the seed's order: build, unit, integration, deploy, live, push, each after
  // the one before it.
  std::vector<std::string> order;
  for (const StepSpec& step : spec.steps)
    order.push_back(std::string(to_string(step.type)) + " " + step.name + " <- " +
                    (step.depends_on.empty() ? "" : step.depends_on[0]));
  EXPECT_EQ(order, (std::vector<std::string>{"build build <- ", "unit unit <- build", "integration integration <- unit",
                                             "deploy deploy <- integration", "live live <- deploy",
                                             "push push <- live"}));

  const StepSpec& unit = *spec.step("unit");
  EXPECT_EQ(unit.line, 34);
  EXPECT_EQ(unit.command, (CommandLine{"/bin/sh", "-c", "sh test/unit.sh"}));
  EXPECT_EQ(unit.image, "");
  EXPECT_EQ(unit.env.at("A"), "1");
  EXPECT_EQ(unit.timeout_seconds, 120);
  EXPECT_EQ(unit.services, "dev");

  const StepSpec& integration = *spec.step("integration");
  EXPECT_EQ(integration.line, 38);
  EXPECT_EQ(integration.image, "slipway/tester:1");
  EXPECT_EQ(integration.command, (CommandLine{"sh", "test/integration.sh"}));
  EXPECT_EQ(integration.forward, (std::vector<int>{6379, 8081}));
  EXPECT_EQ(integration.app_env.at("MODE"), "test");
  EXPECT_EQ(integration.timeout_seconds, 600);

  const StepSpec& deploy = *spec.step("deploy");
  EXPECT_EQ(deploy.line, 44);
  EXPECT_EQ(deploy.services, "prodlike");
  EXPECT_EQ(deploy.env.at("STAGE"), "x");

  const StepSpec& live = *spec.step("live");
  EXPECT_EQ(live.line, 46);
  EXPECT_EQ(live.command, (CommandLine{"/bin/sh", "-c", "test/live.sh"}));
  EXPECT_EQ(live.timeout_seconds, 2.5);
  EXPECT_EQ(live.services, "prodlike") << "live tests reach the deployed app on its network";

  EXPECT_TRUE(spec.push.enabled);
  EXPECT_EQ(spec.push.line, 49);
  EXPECT_EQ(spec.push.registry, "127.0.0.1:5000");
  EXPECT_EQ(spec.push.repository, "hello-app");  // default: app.name
  EXPECT_EQ(spec.push.tags, (std::vector<std::string>{"staging", "v1.0"}));
  EXPECT_EQ(spec.push.target, "stripped");
  EXPECT_TRUE(spec.push.plain_http);

  ASSERT_EQ(spec.environments.size(), 2u);
  EXPECT_EQ(spec.environments.at("testing").name, "testing");
  EXPECT_FALSE(spec.environments.at("testing").push);
  EXPECT_TRUE(spec.environments.at("staging").push);
  EXPECT_EQ(spec.environments.at("staging").service, "hello-app-staging");
}

TEST(PipelineFileTest, MinimalFileGetsDefaults) {
  auto spec = parse("app: {name: web}\nsteps:\n  unit: {command: [make, test]}\n");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->app.dockerfile, "Dockerfile");
  EXPECT_EQ(spec->app.context, ".");
  EXPECT_EQ(spec->app.port, 0);
  EXPECT_EQ(spec->app.ready.port, 0);
  EXPECT_EQ(spec->app.ready.timeout_seconds, 30);
  EXPECT_TRUE(spec->service_sets.empty());
  ASSERT_EQ(spec->steps.size(), 2u);
  EXPECT_EQ(spec->steps[0].type, StepType::kBuild);
  const StepSpec& unit = spec->steps[1];
  EXPECT_EQ(unit.type, StepType::kUnit);
  EXPECT_EQ(unit.timeout_seconds, 600);
  EXPECT_EQ(unit.retry, 0);
  // No dev set is defined and none was asked for: the tests run without services.
  EXPECT_EQ(unit.services, "");
  EXPECT_FALSE(spec->push.enabled);

  ASSERT_EQ(spec->environments.size(), 2u);
  EXPECT_FALSE(spec->environments.at("testing").push);
  EXPECT_TRUE(spec->environments.at("staging").push);
  EXPECT_EQ(spec->environments.at("staging").name, "staging");

  auto staging = find_environment(*spec, "staging");
  ASSERT_TRUE(staging);
  EXPECT_EQ((*staging)->name, "staging");
  auto prod = find_environment(*spec, "prod");
  ASSERT_FALSE(prod);
  EXPECT_THAT(prod.error().message(), HasSubstr("\"prod\""));
  EXPECT_THAT(prod.error().message(), HasSubstr("known: staging, testing"));
}

TEST(PipelineFileTest, PullPolicyIsMissingUnlessSaid) {
  auto spec = parse("app: {name: web}\n");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->pull, "missing");
  spec = parse("app: {name: web}\npull: always\n");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->pull, "always");
  EXPECT_NE(error_of("app: {name: web}\npull: sometimes\n").find(":2: pull: want missing, always or never"),
            std::string::npos)
      << error_of("app: {name: web}\npull: sometimes\n");
}

TEST(PipelineFileTest, EmptyValuesTakeDefaults) {
  auto spec = parse(
      "app:\n  name: a\n  port: 80\n  env:\nservices:\n  prodlike:\n    network: p\n"
      "steps:\n  deploy:\n");
  ASSERT_TRUE(spec) << spec.error().message();
  ASSERT_TRUE(spec->step("deploy"));
  EXPECT_EQ(spec->step("deploy")->line, 9);
  EXPECT_EQ(spec->step("deploy")->services, "prodlike");
  EXPECT_TRUE(spec->app.env.empty());
  EXPECT_TRUE(spec->service_sets.at("prodlike").services.empty());
}

TEST(PipelineFileTest, StringCommandsRunInAShell) {
  auto spec = parse("app:\n  name: a\n  command: httpd -f -p 80 && true\n");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->app.command, (CommandLine{"/bin/sh", "-c", "httpd -f -p 80 && true"}));
}

TEST(PipelineFileTest, EnvValuesMayBeAnyScalar) {
  auto spec = parse(
      "app:\n  name: a\n  env: {PORT: 80, RATIO: 0.5, ON: true, OFF: no, EMPTY: , NAME: x y}\n"
      "  build_args:\n    N: 010\n");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->app.env, (std::map<std::string, std::string>{{"PORT", "80"},
                                                               {"RATIO", "0.5"},
                                                               {"ON", "true"},
                                                               {"OFF", "no"},
                                                               {"EMPTY", ""},
                                                               {"NAME", "x y"}}));
  EXPECT_EQ(spec->app.build_args.at("N"), "010");  // the text as written, not a number
}

struct ErrorCase {
  const char* text;
  const char* expected;  // the message must start with this
};

// Each case: a file and the start of its one-line error ("FILE:LINE: ...").
TEST(PipelineFileTest, ErrorsNameFileLineAndProblem) {
  const ErrorCase cases[] = {
      {"", ".slipway.yml:1: the pipeline file is empty"},
      {"# only a comment\n", ".slipway.yml:1: the pipeline file is empty"},
      {"- a\n- b\n", ".slipway.yml:1: want a map"},
      {"app: {name: a}\n---\napp: {name: b}\n", ".slipway.yml:3: a pipeline file holds one"},
      {"steps: {}\n", ".slipway.yml:1: app is required"},
      {"app:\n  port: 80\n", ".slipway.yml:1: app.name is required"},
      {"app:\n  name: a\n  comand: x\n", ".slipway.yml:3: unknown key \"comand\" in app"},
      {"app: {name: a}\napps: {}\n", ".slipway.yml:2: unknown key \"apps\" at the top level"},
      {"app:\n  name:\n  port: 1\n", ".slipway.yml:2: app.name: want a string, got nothing"},
      {"app:\n  name: a\nservices:\n  dev:\n    services:\n      - {name: r, image: \"Bad "
       "Image\"}\n",
       ".slipway.yml:6: services.dev.services[0].image: invalid image reference"},
      {"app:\n  name: a\n  name: b\n", ".slipway.yml:3: duplicate key \"name\" in app"},
      {"app:\n  name: a\n  port: abc\n",
       ".slipway.yml:3: app.port: want an integer 1-65535, got \"abc\""},
      {"app:\n  name: a\n  port: 70000\n", ".slipway.yml:3: app.port: want an integer 1-65535"},
      {"app:\n  name: a\n  port: [1]\n",
       ".slipway.yml:3: app.port: want an integer 1-65535, got a list"},
      {"app:\n  name: Hello\n", ".slipway.yml:2: app.name: invalid name \"Hello\""},
      {"app:\n  name: a\n  ready: {http: health}\n  port: 1\n",
       ".slipway.yml:3: app.ready.http: want a path"},
      {"app:\n  name: a\n  ready: {timeout: 0}\n",
       ".slipway.yml:3: app.ready.timeout: want a number of seconds > 0"},
      {"app:\n  name: a\n  ready: {timeout: 5}\n",
       ".slipway.yml:3: app.ready.port is required when app has no port"},
      {"app:\n  name: a\n  env: {A: [1]}\n",
       ".slipway.yml:3: app.env.A: want a string, number or boolean"},
      {"app:\n  name: a\n  command: []\n", ".slipway.yml:3: app.command must not be empty"},
      {"app: {name: a}\nservices:\n  dev:\n    services:\n      - name: r\n        image: busybox\n"
       "        healthcheck: {interval: 1}\n",
       ".slipway.yml:7: services.dev.services[0].healthcheck.test is required"},
      {"app: {name: a}\nservices:\n  dev:\n    services:\n      - name: r\n        image: busybox\n"
       "        healthcheck: {test: x, retries: 0}\n",
       ".slipway.yml:7: services.dev.services[0].healthcheck.retries: want a whole number >= 1"},
      {"app: {name: a}\nsteps:\n  unit:\n    env: {}\n",
       ".slipway.yml:3: steps.unit.command is required"},
      {"app: {name: a}\nsteps:\n  unit:\n    command: x\n    timeout: soon\n",
       ".slipway.yml:5: steps.unit.timeout: want a number of seconds > 0, got \"soon\""},
      {"app: {name: a}\nsteps:\n  unti: {command: x}\n",
       ".slipway.yml:3: unknown key \"unti\" in steps"},
      {"app: {name: a}\nsteps:\n  unit: {command: x, services: dve}\n",
       ".slipway.yml:3: steps.unit.services: no service set named \"dve\" (defined: none)"},
      {"app: {name: a, port: 80}\nservices:\n  dev: {}\nsteps:\n  deploy: {}\n",
       ".slipway.yml:5: steps.deploy.services: no service set named \"prodlike\" (the default; "
       "defined: dev)"},
      {"app: {name: a, port: 80}\nservices:\n  dev: {}\nsteps:\n  deploy:\n    services: dev\n",
       ".slipway.yml:6: steps.deploy.services: service set \"dev\" uses the host network"},
      {"app: {name: a}\nsteps:\n  integration:\n    command: x\n",
       ".slipway.yml:3: steps.integration needs app.port"},
      {"app: {name: a}\nservices: {prodlike: {network: p}}\nsteps:\n  deploy: {}\n",
       ".slipway.yml:4: steps.deploy needs app.port"},
      {"app: {name: a, port: 1}\nsteps:\n  integration:\n    command: x\n    forward: [80, 0]\n",
       ".slipway.yml:5: steps.integration.forward[1]: want an integer 1-65535, got \"0\""},
      {"app: {name: a}\nservices:\n  dev:\n    services:\n      - {name: redis, image: r}\n"
       "  other:\n    services:\n      - name: redis\n        image: r\n",
       ".slipway.yml:8: services.other.services[0]: duplicate service name \"redis\" (first at "
       "line 5)"},
      {"app: {name: a}\nservices:\n  dev:\n    services:\n      - image: r\n",
       ".slipway.yml:5: services.dev.services[0].name is required"},
      {"app: {name: a}\nservices:\n  dev:\n    services:\n      - {name: r, imag: r}\n",
       ".slipway.yml:5: unknown key \"imag\" in services.dev.services[0]"},
      {"app: {name: a}\nservices:\n  dev:\n    services:\n      - name: Redis_1\n",
       ".slipway.yml:5: services.dev.services[0].name: invalid name \"Redis_1\""},
      {"app: {name: a}\nservices:\n  dev:\n    subnet: 10.0.0.0/8\n",
       ".slipway.yml:4: services.dev.subnet: only a bridge network has one"},
      {"app: {name: a}\nservices:\n  p:\n    network: p\n    subnet: 10.0.0.1/8\n",
       ".slipway.yml:5: services.p.subnet: "},
      {"app: {name: a}\nservices:\n  dev:\n    services:\n      - {name: r, image: r, ready: {}}\n",
       ".slipway.yml:5: services.dev.services[0].ready.port is required"},
      {"app: {name: a}\nservices:\n  Dev: {}\n",
       ".slipway.yml:3: services.Dev: invalid name \"Dev\""},
      {"app: {name: a}\npush:\n  tags: [x]\n", ".slipway.yml:2: push.registry is required"},
      {"app: {name: a}\npush: {registry: r, plain_http: maybe}\n",
       ".slipway.yml:2: push.plain_http: want true or false, got \"maybe\""},
      {"app: {name: a}\npush: {registry: r, tags: [\"bad tag\"]}\n",
       ".slipway.yml:2: push.tags[0]: want a tag"},
      {"app: {name: a}\nenvironments: {}\n", ".slipway.yml:2: environments must name at least one"},
      {"app: {name: a}\nenvironments:\n  prod: {pushh: true}\n",
       ".slipway.yml:3: unknown key \"pushh\" in environments.prod"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.text);
    std::string message = error_of(c.text);
    EXPECT_THAT(message, StartsWith(c.expected));
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(PipelineFileTest, OneDocumentOnly) {
  const std::string minimal = "app: {name: web}\nsteps:\n  unit: {command: [make, test]}\n";
  EXPECT_TRUE(parse("---\n" + minimal + "---\n...\n")) << "empty documents around it are fine";
  EXPECT_EQ(error_of(minimal + "---\nextra: 1\n"), std::string(kFile) + ":5: a pipeline file holds one YAML document, not 2");
  std::string many;
  for (int i = 0; i < 70; ++i) many += "---\n";
  EXPECT_EQ(error_of(minimal + many), std::string(kFile) + ":1: a pipeline file holds one YAML document, not 64 or more");
}

TEST(PipelineFileTest, MalformedInputThatHungYamlCppsLoadAllIsAnError) {
  // Found by scripts/fuzz (fuzz/corpus/pipeline_file/timeout-yaml-cpp-loadall-loop): yaml-cpp's
  // LoadAll never returned on it.
  std::string text = ",app: {name: web}\nsteps:\n  u\xeb\x86\x07";
  text += std::string("\0", 1) + "0`" + std::string("\0\0", 2) + "nie: \xff" "command: [make, test]}\n";
  EXPECT_NE(error_of(text), "");
}

TEST(PipelineFileTest, YamlSyntaxErrorsNameTheLine) {
  std::string message = error_of("app:\n  name: a\n  env: {A: 1\nsteps: {}\n");
  EXPECT_THAT(message, StartsWith(".slipway.yml:"));
  EXPECT_THAT(message, HasSubstr("invalid YAML"));
  EXPECT_THAT(error_of("app:\n  name: a\n   port: 1\n"),
              StartsWith(".slipway.yml:3: invalid YAML"));
}

TEST(PipelineFileTest, GarbageNeverThrows) {
  const std::string inputs[] = {
      "app:\n\tname: a\n",
      "app: [name: a\n",
      "app: {name: a}}\n",
      "]]]]{{{{",
      "app: &a [*a]\n",
      "app: *undefined\n",
      "? [a, b]\n: c\n",
      "app: {? {x: 1} : y}\n",
      "\"unterminated\n",
      std::string("\0\xff\xfe\x01app:\x80\n  - {", 14),
      std::string(2000, '['),
      std::string(2000, '{') + std::string(2000, '}'),
      "app: !!binary |\n  ZZZ\n",
      "%YAML 9.9\n---\napp: {name: a}\n",
      "app:\n  name: a\n  env: {A: {B: C}}\n",
      "app: {name: a}\nservices: [dev]\n",
      "app: {name: a}\nsteps: {unit: [command]}\n",
  };
  for (const std::string& text : inputs) {
    SCOPED_TRACE(text.substr(0, 40));
    Result<PipelineSpec> spec;
    EXPECT_NO_THROW(spec = parse(text));
    ASSERT_FALSE(spec);
    EXPECT_THAT(spec.error().message(), StartsWith(".slipway.yml"));
    EXPECT_EQ(spec.error().message().find('\n'), std::string::npos) << spec.error().message();
  }
}

TEST(PipelineFileTest, LoadReadsTheFileAndNamesAMissingOne) {
  testing::TempDir dir("pipeline-file");
  std::string path = fs::join(dir.path(), ".slipway.yml");
  auto missing = load_pipeline_file(path);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr(path));
  EXPECT_EQ(missing.error().code(), ENOENT);

  ASSERT_TRUE(fs::write_file(path, kFull));
  auto spec = load_pipeline_file(path);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->file, path);
  EXPECT_EQ(spec->app.name, "hello-app");

  ASSERT_TRUE(fs::write_file(path, "app:\n  nam: x\n"));
  auto bad = load_pipeline_file(path);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message(), StartsWith(path + ":2: unknown key \"nam\" in app"));
}

TEST(PipelineFileTest, DockerfileAndContextStayInsideTheRepository) {
  // A pushed branch chooses these: neither may name a host path.
  for (const char* bad : {"../../../../etc/shadow", "/etc/shadow", "a/../../b"}) {
    std::string df = error_of(std::string("app:\n  name: a\n  dockerfile: ") + bad + "\n");
    EXPECT_THAT(df, HasSubstr(".slipway.yml:3"));
    EXPECT_THAT(df, HasSubstr("a path inside the repository"));
    std::string ctx = error_of(std::string("app:\n  name: a\n  context: ") + bad + "\n");
    EXPECT_THAT(ctx, HasSubstr("a path inside the repository"));
  }
  EXPECT_TRUE(parse("app:\n  name: a\n  dockerfile: build/Dockerfile\n  context: ./src\nsteps: {}\n"));
}

}  // namespace
}  // namespace slipway::pipeline
