// Docker's variable substitution: the cases of buildkit's shell lexer tests (envVarTest,
// wordsTest, ProcessWithMatches) and per-instruction expansion.
#include "oci/dockerfile/substitution.h"

#include <gtest/gtest.h>

#include "oci/dockerfile/expand.h"
#include "oci/dockerfile/instructions.h"

namespace slipway::oci {
namespace {

const VarMap kEnv = {{"PWD", "/home"},
                     {"SHELL", "bash"},
                     {"KOREAN", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"},
                     {"NULL", ""}};

struct WordCase {
  const char* in;
  const char* out;  // nullptr: must fail
};

TEST(Substitution, WordTable) {
  const WordCase cases[] = {
      {"hello", "hello"},
      {"he'll'o", "hello"},
      {"he'llo", nullptr},
      {"he\\'llo", "he'llo"},
      {"he\\\\'llo", nullptr},
      {"abc\\tdef", "abctdef"},
      {"\"abc\\tdef\"", "abc\\tdef"},
      {"\"abc\\\\tdef\"", "abc\\tdef"},
      {"'abc\\tdef'", "abc\\tdef"},
      {"hello\\", "hello"},
      {"hello\\\\", "hello\\"},
      {"\"hello", nullptr},
      {"\"hello\\\"", nullptr},
      {"\"hel'lo\"", "hel'lo"},
      {"'hello", nullptr},
      {"'hello\\'", "hello\\"},
      {"'hello\\there'", "hello\\there"},
      {"\"''\"", "''"},
      {"$.", "$."},
      {"he$1x", "hex"},
      {"he$.x", "he$.x"},
      {"he$pwd.", "he."},
      {"he$PWD", "he/home"},
      {"he\\$PWD", "he$PWD"},
      {"he\\\\$PWD", "he\\/home"},
      {"\"he\\$PWD\"", "he$PWD"},
      {"\"he\\\\$PWD\"", "he\\/home"},
      {"\\${}", "${}"},
      {"\\${}aaa", "${}aaa"},
      {"he\\${}xx", "he${}xx"},
      {"${}", nullptr},
      {"he${}xx", nullptr},
      {"he${hi}xx", "hexx"},
      {"he${PWD}", "he/home"},
      {"he${.}", nullptr},
      {"he${XXX:-000}xx", "he000xx"},
      {"he${PWD:-000}xx", "he/homexx"},
      {"he${XXX:-$PWD}xx", "he/homexx"},
      {"he${XXX:-${PWD:-yyy}}xx", "he/homexx"},
      {"he${XXX:-${YYY:-yyy}}xx", "heyyyxx"},
      {"he${XXX:YYY}", nullptr},
      {"he${XXX?}", nullptr},
      {"he${XXX:?}", nullptr},
      {"he${PWD?}", "he/home"},
      {"he${PWD:?}", "he/home"},
      {"he${NULL?}", "he"},
      {"he${NULL:?}", nullptr},
      {"he${XXX:+${PWD}}xx", "hexx"},
      {"he${PWD:+${XXX}}xx", "hexx"},
      {"he${PWD:+${SHELL}}xx", "hebashxx"},
      {"he${XXX:+000}xx", "hexx"},
      {"he${PWD:+000}xx", "he000xx"},
      {"'he${XX}'", "he${XX}"},
      {"\"he${PWD}\"", "he/home"},
      {"\"he'$PWD'\"", "he'/home'"},
      {"'$PWD'", "$PWD"},
      {"'\\$PWD'", "\\$PWD"},
      {"'\"hello\"'", "\"hello\""},
      {"he${PWD", nullptr},
      {"he${PWD=000}xx", nullptr},
      {"he${PWD+${PWD}}xx", "he/homexx"},
      {"he${PWD-${PWD}}xx", "he/homexx"},
      {"he${XXX+${PWD}}xx", "hexx"},
      {"he${XXX-${PWD}}xx", "he/homexx"},
      {"he${NULL-AAA}xx", "hexx"},
      {"he${NULL+AAA}xx", "heAAAxx"},
      {"he${NULL:-AAA}xx", "heAAAxx"},
      {"he${NULL:+AAA}xx", "hexx"},
      {"${KOREAN}", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"},
      {"$$ $@ $# $? $! $0", "     "},
  };
  for (const WordCase& c : cases) {
    auto r = substitute_word(c.in, kEnv);
    if (!c.out) {
      EXPECT_FALSE(r) << c.in << " gave " << (r ? *r : "");
    } else {
      ASSERT_TRUE(r) << c.in << ": " << r.error().message();
      EXPECT_EQ(*r, c.out) << c.in;
    }
  }
}

TEST(Substitution, WordsSplitOnUnquotedSpacesOnly) {
  const VarMap env = {
      {"hi", "hi"}, {"space", "abc  def"}, {"leading", "  ab c"}, {"trailing", "ab c   "}};
  struct Case {
    const char* in;
    std::vector<std::string> out;
  } cases[] = {
      {"hello", {"hello"}},
      {"hello${hi}bye", {"hellohibye"}},
      {"hello${space}bye", {"helloabc", "defbye"}},
      {"hello\"${space}\"bye", {"helloabc  defbye"}},
      {"hello \"${space}\"bye", {"hello", "abc  defbye"}},
      {"hello${leading}def", {"hello", "ab", "cdef"}},
      {"hello\"${leading}\" def", {"hello  ab c", "def"}},
      {"hello${trailing}d", {"helloab", "c", "d"}},
      {"hello\"${trailing}\"d", {"helloab c   d"}},
      {"hello\" there  \"", {"hello there  "}},
      {"hello there     ", {"hello", "there"}},
      {"hello\\ there", {"hello there"}},
      {"hello\\\" there", {"hello\"", "there"}},
      {"hello\"\\\\there\"", {"hello\\there"}},
      {"hello'\\\\there'", {"hello\\\\there"}},
      {"hello'$there'", {"hello$there"}},
      {"''", {}},
  };
  for (const Case& c : cases) {
    auto r = substitute_words(c.in, env);
    ASSERT_TRUE(r) << c.in << ": " << r.error().message();
    EXPECT_EQ(*r, c.out) << c.in;
  }
  EXPECT_FALSE(substitute_words("hello\" there", env));
}

TEST(Substitution, ReportsWhichVariablesWereUsed) {
  const VarMap env = {{"FOO", "xxx"}, {"BAR", ""}};
  auto r = substitute("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", env);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->word, "xxx  ccc");
  EXPECT_EQ(r->used, (std::set<std::string>{"FOO", "BAR"}));
  EXPECT_EQ(r->unset, (std::set<std::string>{"BAZ"}));

  r = substitute("${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", env);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->word, "aaa  ");
  r = substitute("x", env);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->used.empty() && r->unset.empty());
  // Single quotes hide a reference completely.
  r = substitute("'$FOO'", env);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->used.empty());
}

TEST(Substitution, MandatoryVariablesFailWithTheirMessage) {
  const VarMap set = {{"VAR", "plain"}, {"ARG", "x"}};
  const VarMap empty = {{"VAR", ""}, {"ARG", "x"}};
  const VarMap unset = {{"ARG", "x"}};
  EXPECT_EQ(substitute_word("${VAR:?message here$ARG}", set).value(), "plain");
  auto r = substitute_word("${VAR:?message here$ARG}", empty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(),
            "failed to process \"${VAR:?message here$ARG}\": VAR: message herex");
  EXPECT_FALSE(substitute_word("${VAR:?message here$ARG}", unset));
  EXPECT_EQ(substitute_word("${VAR?message here$ARG}", empty).value(), "");
  r = substitute_word("${VAR?}", unset);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "failed to process \"${VAR?}\": VAR: is not allowed to be unset");
  r = substitute_word("${VAR:?}", empty);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "failed to process \"${VAR:?}\": VAR: is not allowed to be empty");
}

TEST(Substitution, SyntaxErrorsSayWhatIsWrong) {
  auto message = [](const char* in) {
    auto r = substitute_word(in, {});
    return r ? std::string("no error") : r.error().message();
  };
  EXPECT_EQ(message("${}"), "failed to process \"${}\": syntax error: bad substitution");
  EXPECT_EQ(message("${X"), "failed to process \"${X\": syntax error: missing '}'");
  EXPECT_EQ(message("${X:-a"), "failed to process \"${X:-a\": syntax error: missing '}'");
  EXPECT_EQ(message("${X=a}"),
            "failed to process \"${X=a}\": unsupported modifier (=) in substitution");
  EXPECT_EQ(message("'a"),
            "failed to process \"'a\": unexpected end of statement while looking for matching "
            "single-quote");
}

TEST(Substitution, PatternRemovalAndReplacement) {
  struct Case {
    const char* in;
    VarMap env;
    const char* out;
  } cases[] = {
      {"${FOO#()[]{\\}^$.\\*\\?|\\\\}", {{"FOO", "()[]{}^$.*?|\\x"}}, "x"},
      {"${FOO%%\\**}", {{"FOO", "xx**"}}, "xx"},
      {"${FOO#*x*y}", {{"FOO", "xxyy"}}, "y"},
      {"${FOO#*}", {{"FOO", "xxyy"}}, "xxyy"},
      {"${FOO#$BAR}", {{"FOO", "xxyy"}, {"BAR", "x"}}, "xyy"},
      {"${FOO#}", {{"FOO", "xxyy"}}, "xxyy"},
      {"${FOO##*x}", {{"FOO", "xxyy"}}, "yy"},
      {"${FOO#?\\?}", {{"FOO", "???y"}}, "?y"},
      {"${ABC:-.}${FOO%x}${ABC:-.}", {{"FOO", "xxyy"}}, ".xxyy."},
      {"${FOO%%\\**\\*}", {{"FOO", "a***yy*"}}, "a"},
      {"${FOO%y*}", {{"FOO", "xxyy"}}, "xxy"},
      {"${FOO%%y*}", {{"FOO", "xxyy"}}, "xx"},
      {"${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
       {{"FOO", "/foo*/*/*.txt"}, {"NEEDLE", "\\*/"}},
       "/foo.*/*.txt - /foo..*.txt"},
      {"${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
       {{"FOO", "/tmp/tmp/bar.txt"}, {"NEEDLE", "/tmp"}},
       "/tmp/bar.txt - /bar.txt"},
      {"${FOO/$N/$R} - ${FOO//$N/$R}",
       {{"FOO", "/a/foo/b/c.txt"}, {"N", "/?/"}, {"R", "/"}},
       "/foo/b/c.txt - /foo/c.txt"},
      {"${FOO/$N/$R}",
       {{"FOO", "http://google.de"}, {"N", "http://"}, {"R", "https://"}},
       "https://google.de"},
      {"${FOO//\\//\\/}", {{"FOO", "/tmp/foo.txt"}}, "\\/tmp\\/foo.txt"},
      {"${FOO/$BAR/ww}", {{"FOO", "xxyy"}, {"BAR", ""}}, "wwxxyy"},
      {"${FOO///}", {{"FOO", "xxyy"}}, "xxyy"},
      {"${FOO///}", {}, ""},
  };
  for (const Case& c : cases) {
    auto r = substitute_word(c.in, c.env);
    ASSERT_TRUE(r) << c.in << ": " << r.error().message();
    EXPECT_EQ(*r, c.out) << c.in;
  }
  for (const char* bad : {"${FOO//ww}", "${FOO//}", "${FOO#\\x}", "${FOO%a\\}"}) {
    EXPECT_FALSE(substitute_word(bad, {{"FOO", "xxyy"}})) << bad;
  }
}

TEST(Substitution, BacktickEscapeDirective) {
  const VarMap env = {{"X", "1"}};
  EXPECT_EQ(substitute_word("a`$X\\$X", env, '`').value(), "a$X\\1");
  EXPECT_EQ(substitute_word("\"`\"`$X\"", env, '`').value(), "\"$X");
  EXPECT_EQ(substitute_word("C:\\dir\\$X", env, '`').value(), "C:\\dir\\1");
}

TEST(Substitution, SkipUnsetKeepsReferencesAsWritten) {
  ShellLexOptions options;
  options.skip_unset = true;
  auto r = substitute("$A ${B} ${C:-x} ${D/a/b} $E", {{"E", "e"}}, options);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->word, "$A ${B} ${C:-x} ${D/a/b} e");
}

Instruction parse_one(std::string_view text) {
  auto df = parse_dockerfile(std::string("FROM scratch\n") + std::string(text));
  EXPECT_TRUE(df) << df.error().message();
  return df ? df->instructions.back() : Instruction{};
}

TEST(ExpandInstruction, EnvWordsAllSeeTheValuesFromBefore) {
  auto e = expand_instruction(parse_one("ENV A=1 B=$A C=\"a b\" ${K}=v"),
                              {{"A", "0"}, {"K", "key"}}, '\\', "Dockerfile");
  ASSERT_TRUE(e) << e.error().message();
  const auto* env = e->instruction.as<EnvInstruction>();
  ASSERT_TRUE(env);
  EXPECT_EQ(env->vars, (std::vector<KeyValue>{{"A", "1"}, {"B", "0"}, {"C", "a b"}, {"key", "v"}}));
  EXPECT_EQ(e->used, (std::set<std::string>{"A", "K"}));
}

TEST(ExpandInstruction, CopyPathsFlagsAndHeredocBodies) {
  auto e =
      expand_instruction(parse_one("COPY --chown=$U:$G <<EOF <<'RAW' $SRC/*.txt ${DEST:-/opt}\n"
                                   "user $U 'quoted' \\$HOME\nEOF\nraw $U\nRAW\n"),
                         {{"U", "app"}, {"G", "staff"}, {"SRC", "src"}}, '\\', "Dockerfile");
  ASSERT_TRUE(e) << e.error().message();
  const auto* copy = e->instruction.as<CopyInstruction>();
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->chown, "app:staff");
  EXPECT_EQ(copy->sources, (std::vector<std::string>{"src/*.txt"}));
  EXPECT_EQ(copy->dest, "/opt");
  ASSERT_EQ(copy->inline_sources.size(), 2u);
  EXPECT_EQ(copy->inline_sources[0].data, "user app 'quoted' $HOME\n");
  EXPECT_EQ(copy->inline_sources[1].data, "raw $U\n");
  EXPECT_EQ(e->unset, (std::set<std::string>{"DEST"}));
}

TEST(ExpandInstruction, ExposeSplitsAndRunIsLeftToTheShell) {
  auto e = expand_instruction(parse_one("EXPOSE $PORTS 9000/udp"), {{"PORTS", "80 443"}}, '\\',
                              "Dockerfile");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->instruction.as<ExposeInstruction>()->ports,
            (std::vector<std::string>{"80", "443", "9000/udp"}));

  Instruction run = parse_one("RUN echo $HOME");
  EXPECT_FALSE(instruction_expands(run));
  e = expand_instruction(run, {{"HOME", "/root"}}, '\\', "Dockerfile");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->instruction.as<RunInstruction>()->command.args[0], "echo $HOME");
  EXPECT_TRUE(e->used.empty());
}

TEST(ExpandInstruction, WorkdirUserVolumeStopsignalLabelArg) {
  const VarMap vars = {{"D", "/srv"}, {"U", "nobody"}, {"S", "TERM"}, {"V", "1.0"}};
  EXPECT_EQ(expand_instruction(parse_one("WORKDIR $D/app"), vars, '\\', "f")
                ->instruction.as<WorkdirInstruction>()
                ->path,
            "/srv/app");
  EXPECT_EQ(expand_instruction(parse_one("USER ${U}"), vars, '\\', "f")
                ->instruction.as<UserInstruction>()
                ->user,
            "nobody");
  EXPECT_EQ(expand_instruction(parse_one("STOPSIGNAL SIG$S"), vars, '\\', "f")
                ->instruction.as<StopSignalInstruction>()
                ->signal,
            "SIGTERM");
  EXPECT_EQ(expand_instruction(parse_one("VOLUME [\"$D/data\", \"/x\"]"), vars, '\\', "f")
                ->instruction.as<VolumeInstruction>()
                ->paths,
            (std::vector<std::string>{"/srv/data", "/x"}));
  EXPECT_EQ(expand_instruction(parse_one("LABEL version=\"$V\""), vars, '\\', "f")
                ->instruction.as<LabelInstruction>()
                ->labels,
            (std::vector<KeyValue>{{"version", "1.0"}}));
  EXPECT_EQ(expand_instruction(parse_one("ARG X=${V}-rc Y"), vars, '\\', "f")
                ->instruction.as<ArgInstruction>()
                ->args,
            (std::vector<ArgDecl>{{"X", "1.0-rc"}, {"Y", std::nullopt}}));
}

TEST(ExpandInstruction, ErrorsNameFileLineAndInstruction) {
  auto df = parse_dockerfile("FROM scratch\n\nWORKDIR ${DIR:?set DIR}\n", "ctx/Dockerfile");
  ASSERT_TRUE(df);
  auto e = expand_instruction(df->instructions[1], {}, '\\', df->file());
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(),
            "ctx/Dockerfile:3: WORKDIR: failed to process \"${DIR:?set DIR}\": DIR: set DIR");
}

}  // namespace
}  // namespace slipway::oci
