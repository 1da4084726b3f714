#include "pipeline/run_report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "pipeline/report_text.h"

namespace slipway::pipeline {
namespace {

using Json = nlohmann::ordered_json;

}  // namespace

int64_t run_span_ms(const RunRecord& run) {
  int64_t span = run.duration_ms;
  for (const auto& step : run.steps)
    if (step.start_unix_ms > 0)
      span = std::max(span, step.start_unix_ms + step.duration_ms - run.start_unix_ms);
  return span;
}

std::string_view run_status(const RunRecord& run) {
  if (!run.finished) return "running";
  return run.passed ? "passed" : "failed";
}

namespace {

std::string failure_message(const StepRecord& step) {
  if (!step.message.empty()) return step.message;
  if (step.exit_code >= 0) return fmt::format("exited with {}", step.exit_code);
  return "failed";
}

template <class T>
T field(const Json& j, const char* key, T fallback) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? fallback : it->get<T>();
}

}  // namespace

std::string_view to_string(StepStatus status) {
  switch (status) {
    case StepStatus::kPending:
      return "pending";
    case StepStatus::kRunning:
      return "running";
    case StepStatus::kPassed:
      return "passed";
    case StepStatus::kFailed:
      return "failed";
    case StepStatus::kSkipped:
      return "skipped";
  }
  return "unknown";
}

std::string_view to_string(TestStatus status) {
  switch (status) {
    case TestStatus::kPassed: return "passed";
    case TestStatus::kFailed: return "failed";
    case TestStatus::kError: return "error";
    case TestStatus::kSkipped: return "skipped";
  }
  return "unknown";
}

TestCounts count_tests(const std::vector<TestCaseRecord>& tests) {
  TestCounts c;
  c.tests = tests.size();
  for (const auto& t : tests) {
    c.failures += t.status == TestStatus::kFailed;
    c.errors += t.status == TestStatus::kError;
    c.skipped += t.status == TestStatus::kSkipped;
  }
  return c;
}

Result<StepStatus> parse_step_status(std::string_view text) {
  for (auto s : {StepStatus::kPending, StepStatus::kRunning, StepStatus::kPassed,
                 StepStatus::kFailed, StepStatus::kSkipped})
    if (to_string(s) == text) return s;
  return fail("unknown step status \"{}\"", text);
}

std::string format_duration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 60'000) return fmt::format("{:.2f} s", static_cast<double>(ms) / 1000.0);
  int64_t s = ms / 1000;
  if (s < 3600) return fmt::format("{}m {:02}s", s / 60, s % 60);
  return fmt::format("{}h {:02}m", s / 3600, s / 60 % 60);
}

std::string summary_json(const RunRecord& run) {
  Json j;
  j["id"] = run.id;
  j["app"] = run.app;
  j["environment"] = run.environment;
  j["repo"] = run.repo;
  j["branch"] = run.branch;
  j["commit"] = run.commit;
  j["commit_summary"] = run.commit_summary;
  j["image"] = run.image;
  j["start_unix_ms"] = run.start_unix_ms;
  j["started_at"] = iso_utc(run.start_unix_ms) + "Z";
  j["duration_ms"] = run.duration_ms;
  j["finished"] = run.finished;
  j["passed"] = run.passed;
  j["steps"] = Json::array();
  for (const auto& step : run.steps) {
    Json s;
    s["name"] = step.name;
    s["status"] = to_string(step.status);
    s["start_unix_ms"] = step.start_unix_ms;
    s["duration_ms"] = step.duration_ms;
    s["command_ms"] = step.command_ms;
    if (step.command_ms >= 0) s["overhead_ms"] = step.duration_ms - step.command_ms;
    s["exit_code"] = step.exit_code;
    s["message"] = step.message;
    s["log_file"] = step.log_file;
    if (!step.artifacts.empty()) s["artifacts"] = step.artifacts;
    if (!step.tests.empty()) {
      TestCounts c = count_tests(step.tests);
      s["test_counts"] = {{"tests", c.tests}, {"failures", c.failures}, {"errors", c.errors}, {"skipped", c.skipped}};
      Json tests = Json::array();
      for (const auto& t : step.tests) {
        Json tj = {{"suite", t.suite}, {"classname", t.classname}, {"name", t.name}, {"seconds", t.seconds},
                   {"status", to_string(t.status)}};
        if (!t.message.empty()) tj["message"] = t.message;
        if (!t.details.empty()) tj["details"] = t.details;
        tests.push_back(std::move(tj));
      }
      s["tests"] = std::move(tests);
    }
    j["steps"].push_back(std::move(s));
  }
  // Commit subjects and messages come from users: never let a stray byte make the summary fail.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

Result<RunRecord> parse_summary_json(std::string_view text) {
  try {
    Json j = Json::parse(text);
    if (!j.is_object()) return fail("run summary is not a JSON object");
    RunRecord run;
    run.id = field<std::string>(j, "id", "");
    run.app = field<std::string>(j, "app", "");
    run.environment = field<std::string>(j, "environment", "");
    run.repo = field<std::string>(j, "repo", "");
    run.branch = field<std::string>(j, "branch", "");
    run.commit = field<std::string>(j, "commit", "");
    run.commit_summary = field<std::string>(j, "commit_summary", "");
    run.image = field<std::string>(j, "image", "");
    run.start_unix_ms = field<int64_t>(j, "start_unix_ms", 0);
    run.duration_ms = field<int64_t>(j, "duration_ms", 0);
    run.finished = field<bool>(j, "finished", false);
    run.passed = field<bool>(j, "passed", false);
    for (const auto& s : field<Json>(j, "steps", Json::array())) {
      StepRecord step;
      step.name = s.at("name").get<std::string>();
      step.status = SLW_TRY_CTX(parse_step_status(field<std::string>(s, "status", "pending")),
                                "step {}", step.name);
      step.start_unix_ms = field<int64_t>(s, "start_unix_ms", 0);
      step.duration_ms = field<int64_t>(s, "duration_ms", 0);
      step.command_ms = field<int64_t>(s, "command_ms", -1);
      step.exit_code = field<int>(s, "exit_code", -1);
      step.message = field<std::string>(s, "message", "");
      step.log_file = field<std::string>(s, "log_file", "");
      step.artifacts = field<std::vector<std::string>>(s, "artifacts", {});
      for (const auto& tj : field<Json>(s, "tests", Json::array())) {
        TestCaseRecord t;
        t.suite = field<std::string>(tj, "suite", "");
        t.classname = field<std::string>(tj, "classname", "");
        t.name = field<std::string>(tj, "name", "");
        t.seconds = field<double>(tj, "seconds", 0);
        std::string status = field<std::string>(tj, "status", "passed");
        for (auto st : {TestStatus::kPassed, TestStatus::kFailed, TestStatus::kError, TestStatus::kSkipped})
          if (to_string(st) == status) t.status = st;
        t.message = field<std::string>(tj, "message", "");
        t.details = field<std::string>(tj, "details", "");
        step.tests.push_back(std::move(t));
      }
      run.steps.push_back(std::move(step));
    }
    return run;
  } catch (const nlohmann::json::exception& e) {
    return fail("parse run summary: {}", e.what());
  }
}

std::string log_tail(const std::string& run_dir, const std::string& log_file, size_t max_bytes) {
  if (log_file.empty()) return "";
  // Log names come from the engine, but summaries are read back from disk: stay in the run dir.
  if (log_file.front() == '/' || log_file == ".." || log_file.starts_with("../") ||
      log_file.find("/../") != std::string::npos || log_file.ends_with("/.."))
    return fmt::format("(log file name refused: {})", log_file);
  std::string path = fs::join(run_dir, log_file);
  auto fd = fs::open_file(path, O_RDONLY);
  if (!fd) return fmt::format("(log unavailable: {})", fd.error().message());
  struct stat st;
  if (::fstat(fd->get(), &st) < 0) return fmt::format("(log unavailable: stat {})", path);
  size_t size = static_cast<size_t>(st.st_size);
  size_t offset = size > max_bytes ? size - max_bytes : 0;
  std::string data(size - offset, '\0');
  size_t got = 0;
  while (got < data.size()) {
    ssize_t n =
        ::pread(fd->get(), data.data() + got, data.size() - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the log shrank (truncated while we read): show what we have
    got += static_cast<size_t>(n);
  }
  data.resize(got);
  std::string prefix;
  if (offset > 0) {
    // Start at a line boundary if one is near, so the first line shown is not half a line.
    size_t nl = data.find('\n');
    size_t cut = (nl != std::string::npos && nl < 4096) ? nl + 1 : 0;
    while (cut < data.size() && (static_cast<unsigned char>(data[cut]) & 0xc0) == 0x80) ++cut;
    data.erase(0, cut);
    prefix = fmt::format("[... first {} bytes of {} omitted ...]\n", offset + cut, log_file);
  }
  return prefix + clean_text(data);
}

namespace {

// The <testsuite>s of one step's own test reports, one per suite name in the order first seen.
std::string test_suites(const StepRecord& step, int64_t timestamp_ms) {
  std::vector<std::string> suites;
  for (const auto& t : step.tests)
    if (std::find(suites.begin(), suites.end(), t.suite) == suites.end()) suites.push_back(t.suite);
  std::string out;
  for (const auto& suite : suites) {
    std::vector<TestCaseRecord> cases;
    double total = 0;
    for (const auto& t : step.tests)
      if (t.suite == suite) {
        cases.push_back(t);
        total += t.seconds;
      }
    TestCounts c = count_tests(cases);
    std::string name = suite.empty() ? step.name : step.name + ": " + suite;
    out += fmt::format(
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\" "
        "timestamp=\"{}\">\n",
        escape(name, true), c.tests, c.failures, c.errors, c.skipped, total, iso_utc(timestamp_ms));
    for (const auto& t : cases) {
      out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", escape(t.classname, true),
                         escape(t.name, true), t.seconds);
      std::string message = t.message.empty() ? "" : fmt::format(" message=\"{}\"", escape(t.message, true));
      switch (t.status) {
        case TestStatus::kPassed: out += "/>\n"; break;
        case TestStatus::kSkipped: out += fmt::format(">\n      <skipped{}/>\n    </testcase>\n", message); break;
        case TestStatus::kFailed:
        case TestStatus::kError: {
          const char* tag = t.status == TestStatus::kError ? "error" : "failure";
          out += fmt::format(">\n      <{}{}>{}</{}>\n    </testcase>\n", tag, message, escape(t.details), tag);
          break;
        }
      }
    }
    out += "  </testsuite>\n";
  }
  return out;
}

}  // namespace

std::string junit_xml(const RunRecord& run, const std::string& run_dir) {
  int failures = 0, errors = 0, skipped = 0;
  for (const auto& step : run.steps) {
    if (step.status == StepStatus::kFailed) ++failures;
    if (step.status == StepStatus::kRunning) ++errors;
    if (step.status == StepStatus::kSkipped || step.status == StepStatus::kPending) ++skipped;
  }
  std::string app = escape(run.app, true);
  auto counts_of = [](size_t tests, size_t f, size_t e, size_t sk, const std::string& time) {
    return fmt::format("tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"", tests, f, e, sk,
                       time);
  };
  std::string time = seconds(run_span_ms(run));
  std::string counts = counts_of(run.steps.size(), failures, errors, skipped, time);
  TestCounts all{run.steps.size(), static_cast<size_t>(failures), static_cast<size_t>(errors),
                 static_cast<size_t>(skipped)};
  for (const auto& step : run.steps) {
    TestCounts c = count_tests(step.tests);
    all.tests += c.tests;
    all.failures += c.failures;
    all.errors += c.errors;
    all.skipped += c.skipped;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"slipway\" {}>\n",
                     counts_of(all.tests, all.failures, all.errors, all.skipped, time));
  out += fmt::format("  <testsuite name=\"slipway pipeline {}\" {} timestamp=\"{}\">\n", app,
                     counts, iso_utc(run.start_unix_ms));
  out += "    <properties>\n";
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"run", &run.id},
                             {"environment", &run.environment},
                             {"repo", &run.repo},
                             {"branch", &run.branch},
                             {"commit", &run.commit},
                             {"image", &run.image}})
    if (!value->empty())
      out +=
          fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", name, escape(*value, true));
  out += "    </properties>\n";
  for (const auto& step : run.steps) {
    out += fmt::format("    <testcase classname=\"pipeline.{}\" name=\"{}\" time=\"{}\"", app,
                       escape(step.name, true), seconds(step.duration_ms));
    switch (step.status) {
      case StepStatus::kPassed: {
        std::string log = log_tail(run_dir, step.log_file);
        if (log.empty()) {
          out += "/>\n";
        } else {
          out +=
              fmt::format(">\n      <system-out>{}</system-out>\n    </testcase>\n", escape(log));
        }
        break;
      }
      case StepStatus::kFailed: {
        std::string type = step.exit_code >= 0 ? fmt::format("exit {}", step.exit_code) : "error";
        out += fmt::format(
            ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>\n",
            escape(failure_message(step), true), type, escape(log_tail(run_dir, step.log_file)));
        break;
      }
      case StepStatus::kRunning:
        // Reports are rewritten as the run goes; if it is killed, this step never finished.
        out += fmt::format(
            ">\n      <error message=\"step did not finish\">{}</error>\n"
            "    </testcase>\n",
            escape(log_tail(run_dir, step.log_file)));
        break;
      case StepStatus::kSkipped:
      case StepStatus::kPending: {
        std::string why = step.message.empty()
                              ? std::string(step.status == StepStatus::kPending ? "not run" : "")
                              : step.message;
        out += why.empty() ? ">\n      <skipped/>\n    </testcase>\n"
                           : fmt::format(">\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                                         escape(why, true));
        break;
      }
    }
  }
  out += "  </testsuite>\n";
  for (const auto& step : run.steps) out += test_suites(step, run.start_unix_ms);
  out += "</testsuites>\n";
  return out;
}

Status write_reports(const RunRecord& run, const std::string& run_dir) {
  // write_file_atomic names its temp file after the pid: two threads must not write at once.
  static std::mutex mu;
  std::lock_guard lock(mu);
  SLW_TRY_CTX(fs::make_dirs(run_dir), "write reports");
  // The summary first: it is what `pipeline show` and gc read. No fsync: the reports need to
  // survive a killed process, not a power loss, and they are rewritten after every step.
  SLW_TRY_CTX(
      fs::write_file_atomic(fs::join(run_dir, "summary.json"), summary_json(run), 0644, false),
      "write reports");
  SLW_TRY_CTX(
      fs::write_file_atomic(fs::join(run_dir, "junit.xml"), junit_xml(run, run_dir), 0644, false),
      "write reports");
  SLW_TRY_CTX(fs::write_file_atomic(fs::join(run_dir, "report.html"), html_report(run, run_dir),
                                    0644, false),
              "write reports");
  return {};
}

}  // namespace slipway::pipeline
