// base/go_template.h: the text/template subset of `inspect --format` and `ps --format`, with the
// outputs Go's own text/template gives for the same templates over the same data.
#include "base/go_template.h"

#include <gtest/gtest.h>

namespace slipway {
namespace {

using json = nlohmann::json;

const json kData = json::parse(R"({
  "Id": "4f2a",
  "Name": "/web",
  "State": {"Status": "running", "Running": true, "ExitCode": 0, "Health": null},
  "Config": {"Env": ["A=1", "B=2"], "Labels": {"tier": "front", "app.kind": "web"}, "Cmd": []},
  "NetworkSettings": {"Networks": {"ci": {"IPAddress": "172.20.0.2"}, "back": {"IPAddress": "10.0.0.3"}}},
  "Ports": 3
})");

std::string render(std::string_view text, const json& data = kData) {
  auto t = GoTemplate::parse(text);
  if (!t) return "parse error: " + t.error().message();
  auto out = t->render(data);
  return out ? *out : "render error: " + out.error().message();
}

TEST(GoTemplate, FieldsAndLiterals) {
  EXPECT_EQ(render("{{.Id}}"), "4f2a");
  EXPECT_EQ(render("{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}"), "running true 0");
  EXPECT_EQ(render("id={{ .Id }}!"), "id=4f2a!");
  EXPECT_EQ(render("{{\"a\\tb\"}}{{`raw\\n`}}{{42}}"), "a\tbraw\\n42");
  EXPECT_EQ(render("{{.State.Health}}"), "<nil>");
  EXPECT_EQ(render("no actions at all"), "no actions at all");
}

TEST(GoTemplate, ValuesPrintAsGoPrintsThem) {
  EXPECT_EQ(render("{{.Config.Env}}"), "[A=1 B=2]");
  EXPECT_EQ(render("{{.Config.Labels}}"), "map[app.kind:web tier:front]");
  EXPECT_EQ(render("{{.Config.Cmd}}"), "[]");
}

TEST(GoTemplate, JsonIndexAndOtherFunctions) {
  EXPECT_EQ(render("{{json .Config.Env}}"), R"(["A=1","B=2"])");
  EXPECT_EQ(render("{{json .}}"), kData.dump());
  EXPECT_EQ(render("{{.Config.Labels | json}}"), R"({"app.kind":"web","tier":"front"})");
  EXPECT_EQ(render("{{index .Config.Labels \"app.kind\"}}"), "web");
  EXPECT_EQ(render("{{index .Config.Env 1}}"), "B=2");
  EXPECT_EQ(render("{{index .Config.Labels \"missing\"}}"), "<nil>");
  EXPECT_EQ(render("{{(index .NetworkSettings.Networks \"ci\").IPAddress}}"), "172.20.0.2");
  EXPECT_EQ(render("{{len (index .Config.Env 0)}}"), "3");
  EXPECT_EQ(render("{{len .Config.Env}} {{len .Id}}"), "2 4");
  EXPECT_EQ(render("{{upper .State.Status}} {{lower \"ABC\"}}"), "RUNNING abc");
  EXPECT_EQ(render("{{join .Config.Env \",\"}}"), "A=1,B=2");
  EXPECT_EQ(render("{{split \"a:b:c\" \":\"}}"), "[a b c]");
  EXPECT_EQ(render("{{println .Id}}"), "4f2a\n");
}

TEST(GoTemplate, ComparisonsAndLogicAsGos) {
  EXPECT_EQ(render("{{if eq .State.Status \"running\"}}up{{else}}down{{end}}"), "up");
  EXPECT_EQ(render("{{eq .State.Status \"exited\" \"running\"}}"), "true");  // any of the rest
  EXPECT_EQ(render("{{ne .State.ExitCode 0}} {{lt 1 2}} {{le 2 2}} {{gt .Ports 3}} {{ge .Ports 3}}"),
            "false true true false true");
  EXPECT_EQ(render("{{lt \"a\" \"b\"}} {{eq .State.Running true}}"), "true true");
  EXPECT_EQ(render("{{not .State.Running}} {{and .Id .Ports}} {{or .Config.Cmd .Id}} {{and .Config.Cmd .Id}}"),
            "false 3 4f2a []");
  EXPECT_EQ(render("{{if and .State.Running (eq .State.ExitCode 0)}}ok{{end}}"), "ok");
  EXPECT_EQ(render("{{lt .Id 3}}"), "render error: template: lt: incompatible types for comparison (4f2a and 3)");
  EXPECT_EQ(render("{{eq .Id}}"), "render error: template: eq takes at least two arguments");
}

TEST(GoTemplate, RangeIfElseAndTrimming) {
  EXPECT_EQ(render("{{range .Config.Env}}[{{.}}]{{end}}"), "[A=1][B=2]");
  // Maps range over their values in key order; $ is the whole document inside.
  EXPECT_EQ(render("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{$.Id}};{{end}}"),
            "10.0.0.3 4f2a;172.20.0.2 4f2a;");
  EXPECT_EQ(render("{{range .Config.Cmd}}x{{else}}empty{{end}}"), "empty");
  EXPECT_EQ(render("{{if .State.Running}}up{{else}}down{{end}}"), "up");
  EXPECT_EQ(render("{{if .State.ExitCode}}failed{{end}}"), "");
  EXPECT_EQ(render("{{if .State.Health}}h{{else}}no health{{end}}"), "no health");
  EXPECT_EQ(render("a  {{- .Id -}}  b"), "a4f2ab");
  EXPECT_EQ(render("{{range .Config.Env -}}\n  {{.}}\n{{- end}}"), "A=1B=2");
}

TEST(GoTemplate, UnknownFieldsAndBadTemplatesAreErrorsNamingThem) {
  EXPECT_EQ(render("{{.Nope}}"), "render error: template: can't evaluate field Nope in .Nope: no such field");
  EXPECT_EQ(render("{{.State.Nope}}"),
            "render error: template: can't evaluate field Nope in .State.Nope: no such field");
  EXPECT_EQ(render("{{.Id.More}}"),
            "render error: template: can't evaluate field More in .Id.More (.Id is not an object)");
  EXPECT_EQ(render("{{nosuch .Id}}"), "render error: template: function \"nosuch\" not defined");
  EXPECT_EQ(render("{{.Id"), "parse error: template: unclosed action at offset 0");
  EXPECT_EQ(render("{{end}}"), "parse error: template: unexpected {{end}}");
  EXPECT_EQ(render("{{range .Config.Env}}x"), "parse error: template: {{range}} without {{end}}");
  EXPECT_EQ(render("{{}}"), "parse error: template: empty action {{}}");
  EXPECT_EQ(render("{{\"open}}"), "parse error: template: unterminated string in {{\"open}}");
  EXPECT_EQ(render("{{$x}}"), "parse error: template: variables other than $ are not supported: $x");
  EXPECT_EQ(render("{{json}}"), "render error: template: json takes 1 argument(s), got 0");
  EXPECT_EQ(render("{{range .Id}}{{end}}"), "render error: template: range over 4f2a, which is not a list or map");
  EXPECT_EQ(render("{{(index .Config.Env 0}}"), "parse error: template: missing ) in {{(index .Config.Env 0}}");
  EXPECT_EQ(render("{{.Id)}}"), "parse error: template: unexpected ) in {{.Id)}}");
  EXPECT_EQ(render("{{(index .Config.Labels \"tier\").X}}"),
            "render error: template: can't evaluate field X in (...).X ((...) is not an object)");
}

}  // namespace
}  // namespace slipway
