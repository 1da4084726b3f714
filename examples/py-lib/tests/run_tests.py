"""Runs the unit tests with unittest and writes a JUnit XML report for the CI (what
unittest-xml-reporting does, in the standard library only): python3 tests/run_tests.py REPORT.xml"""

import sys
import time
import unittest
import xml.etree.ElementTree as ET


class JUnitResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = []  # (test, seconds, kind, message, details)

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def _record(self, test, kind="", message="", details=""):
        self.cases.append((test, time.monotonic() - self._started, kind, message, details))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", str(err[1]), self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", str(err[1]), self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)


def write_junit(result, path, seconds):
    suite = ET.Element("testsuite", name="intervals", tests=str(len(result.cases)),
                       failures=str(len(result.failures)), errors=str(len(result.errors)),
                       skipped=str(len(result.skipped)), time=f"{seconds:.3f}")
    for test, took, kind, message, details in result.cases:
        cls = type(test)
        case = ET.SubElement(suite, "testcase", classname=f"{cls.__module__}.{cls.__name__}",
                             name=test._testMethodName, time=f"{took:.3f}")
        if kind:
            ET.SubElement(case, kind, message=message).text = details or None
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def main():
    report = sys.argv[1] if len(sys.argv) > 1 else "junit.xml"
    tests = unittest.defaultTestLoader.discover("tests", top_level_dir=".")
    runner = unittest.TextTestRunner(resultclass=JUnitResult, verbosity=2)
    started = time.monotonic()
    result = runner.run(tests)
    write_junit(result, report, time.monotonic() - started)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
