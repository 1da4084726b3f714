#include "pipeline/junit_input.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <charconv>
#include <memory>
#include <mutex>

namespace slipway::pipeline {
namespace {

constexpr size_t kMaxMessage = 1024;
constexpr size_t kMaxDetails = 4096;
constexpr int kMaxSuiteDepth = 32;

using Doc = std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)>;

bool is(const xmlNode* node, const char* name) {
  return node->type == XML_ELEMENT_NODE && xmlStrcmp(node->name, reinterpret_cast<const xmlChar*>(name)) == 0;
}

std::string attribute(const xmlNode* node, const char* name) {
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (!value) return "";
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

std::string text(const xmlNode* node) {
  xmlChar* value = xmlNodeGetContent(node);
  if (!value) return "";
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

std::string cut(std::string s, size_t max) {
  if (s.size() <= max) return s;
  s.resize(max);
  return s + "...";
}

double seconds_of(const std::string& s) {
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && d >= 0 ? d : 0;
}

TestCaseRecord test_case(const xmlNode* node, const std::string& suite) {
  TestCaseRecord t;
  t.suite = suite;
  t.classname = attribute(node, "classname");
  t.name = attribute(node, "name");
  t.seconds = seconds_of(attribute(node, "time"));
  for (const xmlNode* c = node->children; c; c = c->next) {
    TestStatus status;
    if (is(c, "failure")) {
      status = TestStatus::kFailed;
    } else if (is(c, "error")) {
      status = TestStatus::kError;
    } else if (is(c, "skipped")) {
      status = TestStatus::kSkipped;
    } else {
      continue;
    }
    // A failure outranks a skip when a report has both.
    if (t.status == TestStatus::kPassed || status != TestStatus::kSkipped) {
      t.status = status;
      t.message = cut(attribute(c, "message"), kMaxMessage);
      t.details = cut(text(c), kMaxDetails);
      if (t.message.empty()) t.message = cut(t.details.substr(0, t.details.find('\n')), kMaxMessage);
    }
  }
  return t;
}

Status collect(const xmlNode* node, const std::string& suite, int depth, std::vector<TestCaseRecord>& out,
               const std::string& name) {
  if (depth > kMaxSuiteDepth) return fail("JUnit report {}: suites nested deeper than {}", name, kMaxSuiteDepth);
  for (const xmlNode* c = node->children; c; c = c->next) {
    if (is(c, "testsuite")) {
      std::string inner = attribute(c, "name");
      SLW_TRY(collect(c, inner.empty() ? suite : inner, depth + 1, out, name));
    } else if (is(c, "testcase")) {
      if (out.size() >= kMaxTestCases) return fail("JUnit report {}: more than {} test cases", name, kMaxTestCases);
      out.push_back(test_case(c, suite));
    }
  }
  return {};
}

}  // namespace

Result<std::vector<TestCaseRecord>> parse_junit_report(std::string_view xml, const std::string& name) {
  if (xml.size() > kMaxJunitReportBytes)
    return fail("JUnit report {}: {} bytes, more than {}", name, xml.size(), kMaxJunitReportBytes);
  // Entities are only declared in a DTD; without one, none can be expanded (no billion laughs).
  if (xml.find("<!DOCTYPE") != std::string_view::npos || xml.find("<!ENTITY") != std::string_view::npos)
    return fail("JUnit report {}: has a DTD, which a test report does not need; refused", name);
  static std::once_flag init;
  std::call_once(init, [] { xmlInitParser(); });
  Doc doc(xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "report.xml", nullptr,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING),
          xmlFreeDoc);
  if (!doc) {
    const xmlError* e = xmlGetLastError();
    std::string why = e && e->message ? e->message : "not well-formed XML";
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return fail("JUnit report {}: line {}: {}", name, e ? e->line : 0, why);
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || !(is(root, "testsuites") || is(root, "testsuite")))
    return fail("JUnit report {}: the root element is not <testsuites> or <testsuite>", name);
  std::vector<TestCaseRecord> out;
  if (is(root, "testsuite")) {
    // The root suite itself: collect() walks children, so wrap it by hand.
    std::string suite = attribute(root, "name");
    SLW_TRY(collect(root, suite, 1, out, name));
  } else {
    SLW_TRY(collect(root, attribute(root, "name"), 0, out, name));
  }
  return out;
}

}  // namespace slipway::pipeline
