#include "pipeline/variables.h"

#include <algorithm>
#include <ctime>

namespace slipway::pipeline {
namespace {

bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

std::string iso8601_utc(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

}  // namespace

std::map<std::string, std::string> ci_variables(const RunFacts& f) {
  std::map<std::string, std::string> v = {
      {"CI", "true"},
      {"CI_COMMIT_SHA", f.commit.sha},
      {"CI_COMMIT_SHORT_SHA", f.commit.sha.substr(0, 8)},
      {"CI_COMMIT_MESSAGE", f.commit.message},
      {"CI_COMMIT_TIMESTAMP", iso8601_utc(f.commit.timestamp)},
      {"CI_PIPELINE_ID", f.pipeline_id},
      {"CI_PROJECT_NAME", f.project},
      {"CI_ENVIRONMENT_NAME", f.environment},
  };
  if (!f.commit.branch.empty()) v["CI_COMMIT_BRANCH"] = f.commit.branch;
  if (!f.commit.tag.empty()) v["CI_COMMIT_TAG"] = f.commit.tag;
  return v;
}

std::map<std::string, std::string> with_job(std::map<std::string, std::string> vars, const std::string& job) {
  vars["CI_JOB_NAME"] = job;
  return vars;
}

Result<std::string> interpolate(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      out += c;
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out += c;
      continue;
    }
    size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) return fail("unterminated ${{ in \"{}\"", text);
    std::string_view name = text.substr(i + 2, close - i - 2);
    if (name.empty() || !name_start(name[0]) ||
        !std::all_of(name.begin(), name.end(), [](char ch) { return name_char(ch); }))
      return fail("invalid variable name ${{{}}}: use letters, digits and _ (write $$ for a literal $)", name);
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return fail("undefined variable ${{{}}} (write $${{{}}} to leave it to the shell)", name, name);
    out += it->second;
    i = close;
  }
  return out;
}

}  // namespace slipway::pipeline
