#include "pipeline/run_report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/fs.h"

namespace slipway::pipeline {
namespace {

using Json = nlohmann::ordered_json;

// Skips one terminal escape sequence starting at s[i] == ESC; returns the index after it.
size_t skip_escape(std::string_view s, size_t i) {
  ++i;
  if (i >= s.size()) return i;
  if (s[i] == '[') {  // CSI: parameter and intermediate bytes, then one final byte
    for (++i; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c >= 0x40 && c <= 0x7e) return i + 1;
      if (c < 0x20 || c > 0x3f) return i;  // malformed: keep what follows
    }
    return i;
  }
  if (s[i] == ']') {  // OSC (window titles, hyperlinks): ends at BEL or ESC backslash
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\a') return i + 1;
      if (s[i] == '\x1b') return (i + 1 < s.size() && s[i + 1] == '\\') ? i + 2 : i;
    }
    return i;
  }
  // Two-byte escapes (ESC 7, ESC M...); anything else was a stray ESC and keeps what follows.
  return (s[i] >= 0x30 && s[i] <= 0x7e) ? i + 1 : i;
}

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one (overlong, surrogate, cut).
size_t utf8_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  // U+FFFE and U+FFFF are not characters in XML.
  if (n == 3 && c == 0xef && byte(i + 1) == 0xbf && byte(i + 2) >= 0xbe) return 0;
  return n;
}

// Text that any XML or HTML parser accepts: valid UTF-8 (bad bytes become U+FFFD), terminal
// escapes dropped, and no control characters other than tab, newline and carriage return.
std::string clean_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b) {
      i = skip_escape(s, i);
    } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
      ++i;
    } else if (size_t n = utf8_length(s, i); n > 0) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xef\xbf\xbd";
      ++i;
    }
  }
  return out;
}

// Escapes for XML and HTML alike; in attributes, whitespace is kept as character references
// because attribute-value normalization would otherwise turn newlines into spaces.
std::string escape(std::string_view raw, bool attribute = false) {
  std::string s = clean_text(raw);
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\n':
        out += attribute ? "&#10;" : "\n";
        break;
      case '\r':
        out += attribute ? "&#13;" : "\r";
        break;
      case '\t':
        out += attribute ? "&#9;" : "\t";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string seconds(int64_t ms) {
  return fmt::format("{:.3f}", static_cast<double>(ms) / 1000.0);
}

// "2024-05-01T12:00:00" in UTC, as JUnit's timestamp attribute wants it (no zone suffix).
std::string iso_utc(int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

// The whole run's span: its duration, or longer if a step outlasts it (a run still going on).
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

std::string junit_xml(const RunRecord& run, const std::string& run_dir) {
  int failures = 0, errors = 0, skipped = 0;
  for (const auto& step : run.steps) {
    if (step.status == StepStatus::kFailed) ++failures;
    if (step.status == StepStatus::kRunning) ++errors;
    if (step.status == StepStatus::kSkipped || step.status == StepStatus::kPending) ++skipped;
  }
  std::string app = escape(run.app, true);
  std::string counts =
      fmt::format("tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\"",
                  run.steps.size(), failures, errors, skipped, seconds(run_span_ms(run)));
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"slipway\" {}>\n", counts);
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
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

namespace {

constexpr std::string_view kHtmlStyle = R"(
:root{--fg:#1f2328;--bg:#fff;--muted:#656d76;--line:#d0d7de;--track:#f6f8fa;
--passed:#2da44e;--failed:#cf222e;--skipped:#8c959f;--running:#0969da;--pending:#d0d7de}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#8d96a0;
--line:#30363d;--track:#161b22;--pending:#30363d}}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;padding:24px;max-width:1100px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:16px;margin:28px 0 10px}
.badge{display:inline-block;padding:1px 10px;border-radius:12px;color:#fff;font-size:13px;
vertical-align:middle}
.passed{background:var(--passed)}.failed{background:var(--failed)}.skipped{background:var(--skipped)}
.running{background:var(--running)}.pending{background:var(--pending)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.timeline{border:1px solid var(--line);border-radius:6px;padding:8px 12px}
.row{display:grid;grid-template-columns:110px 1fr 190px;gap:12px;align-items:center;height:26px}
.track{position:relative;height:14px;background:var(--track);border-radius:3px}
.bar{position:absolute;top:0;height:100%;border-radius:3px;min-width:2px;overflow:hidden}
.cmd{height:100%;background:rgba(0,0,0,.22)}
.dur{color:var(--muted);white-space:nowrap;font-variant-numeric:tabular-nums}
.axis{display:flex;justify-content:space-between;color:var(--muted);font-size:12px;
margin-left:122px;margin-right:202px}
details{border:1px solid var(--line);border-radius:6px;margin:8px 0}
summary{cursor:pointer;padding:6px 12px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px}
.msg{color:var(--muted)}
pre{margin:0;padding:10px 12px;border-top:1px solid var(--line);overflow:auto;max-height:600px;
white-space:pre-wrap;overflow-wrap:anywhere}
)";

std::string percent(double v) {
  return fmt::format("{:.2f}", std::clamp(v, 0.0, 100.0));
}

// One timeline row: a bar placed by start offset and sized by duration, both relative to the run.
std::string timeline_row(const StepRecord& step, const RunRecord& run, int64_t span) {
  std::string status(to_string(step.status));
  std::string bar, dur;
  bool started = step.start_unix_ms > 0 && step.status != StepStatus::kPending &&
                 step.status != StepStatus::kSkipped;
  if (started && span > 0) {
    double left = 100.0 * static_cast<double>(step.start_unix_ms - run.start_unix_ms) / span;
    double width = 100.0 * static_cast<double>(step.duration_ms) / span;
    left = std::clamp(left, 0.0, 100.0);
    width = std::clamp(width, 0.0, 100.0 - left);
    std::string title = fmt::format("{} {}", step.name, format_duration(step.duration_ms));
    std::string inner;
    if (step.command_ms >= 0 && step.duration_ms > 0) {
      title += fmt::format(", command {}, overhead {}", format_duration(step.command_ms),
                           format_duration(step.duration_ms - step.command_ms));
      inner = fmt::format("<div class=\"cmd\" style=\"width:{}%\"></div>",
                          percent(100.0 * static_cast<double>(step.command_ms) / step.duration_ms));
    }
    bar = fmt::format("<div class=\"bar {}\" style=\"left:{}%;width:{}%\" title=\"{}\">{}</div>",
                      status, percent(left), percent(width), escape(title, true), inner);
  }
  if (step.status == StepStatus::kSkipped || step.status == StepStatus::kPending) {
    dur = status;
  } else {
    dur = format_duration(step.duration_ms);
    if (step.command_ms >= 0)
      dur += fmt::format(" <span title=\"time in the command\">(cmd {})</span>",
                         format_duration(step.command_ms));
    if (step.status == StepStatus::kRunning) dur += " running";
  }
  return fmt::format(
      "<div class=\"row\"><div class=\"name\"><code>{}</code></div><div class=\"track\">{}</div>"
      "<div class=\"dur\">{}</div></div>\n",
      escape(step.name), bar, dur);
}

std::string log_section(const StepRecord& step, const std::string& run_dir) {
  std::string status(to_string(step.status));
  std::string summary = fmt::format("<span class=\"dot {}\"></span><code>{}</code> &middot; {}",
                                    status, escape(step.name), status);
  if (step.status != StepStatus::kPending && step.status != StepStatus::kSkipped)
    summary += fmt::format(" &middot; {}", format_duration(step.duration_ms));
  if (!step.message.empty())
    summary += fmt::format(" &middot; <span class=\"msg\">{}</span>", escape(step.message));
  std::string log = log_tail(run_dir, step.log_file);
  if (log.empty()) log = step.log_file.empty() ? "(no log)" : "(log is empty)";
  bool open = step.status == StepStatus::kFailed || step.status == StepStatus::kRunning;
  return fmt::format("<details{}><summary>{}</summary><pre>{}</pre></details>\n",
                     open ? " open" : "", summary, escape(log));
}

}  // namespace

std::string html_report(const RunRecord& run, const std::string& run_dir) {
  std::string status(run_status(run));
  int64_t span = run_span_ms(run);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n";
  out += fmt::format("<title>{} {} &middot; {} &middot; slipway</title>\n", escape(run.app),
                     escape(run.environment), status);
  out += fmt::format("<style>{}</style>\n</head>\n<body>\n<header>\n", kHtmlStyle);
  out += fmt::format("<h1>{} <span class=\"badge {}\">{}</span></h1>\n<dl>\n", escape(run.app),
                     status, status);
  auto item = [&](std::string_view name, const std::string& html) {
    if (!html.empty()) out += fmt::format("<dt>{}</dt><dd>{}</dd>\n", name, html);
  };
  item("environment", escape(run.environment));
  std::string commit = run.commit.empty() ? "" : fmt::format("<code>{}</code>", escape(run.commit));
  if (!run.commit_summary.empty()) commit += fmt::format(" {}", escape(run.commit_summary));
  item("commit", commit);
  item("branch", escape(run.branch));
  item("repository", escape(run.repo));
  item("image", run.image.empty() ? "" : fmt::format("<code>{}</code>", escape(run.image)));
  item("run", run.id.empty() ? "" : fmt::format("<code>{}</code>", escape(run.id)));
  if (run.start_unix_ms > 0) item("started", iso_utc(run.start_unix_ms) + " UTC");
  item("total time", format_duration(span) + (run.finished ? "" : " so far"));
  out += "</dl>\n</header>\n<h2>Timeline</h2>\n<div class=\"timeline\">\n";
  for (const auto& step : run.steps) out += timeline_row(step, run, span);
  out += fmt::format("<div class=\"axis\"><span>0 s</span><span>{}</span></div>\n</div>\n",
                     format_duration(span));
  out += "<h2>Logs</h2>\n";
  for (const auto& step : run.steps) out += log_section(step, run_dir);
  out += "</body>\n</html>\n";
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
