"""Runs every test_*.py here with unittest and writes one line per test to the file given as argv[1]:
``<outcome>\t<test id>\t<detail>`` with outcome ok, fail, error or skip, so PythonClientTest can report each Python
test as a JUnit test of its own. Exit status 0 only when nothing failed."""
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


class Recorder(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = []

    def addSuccess(self, test):
        super().addSuccess(test)
        self.records.append(("ok", test.id(), ""))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.records.append(("fail", test.id(), self._exc_info_to_string(err, test)))

    def addError(self, test, err):
        super().addError(test, err)
        self.records.append(("error", test.id(), self._exc_info_to_string(err, test)))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.records.append(("skip", test.id(), reason))


def main():
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = unittest.TextTestRunner(verbosity=2, resultclass=Recorder).run(suite)
    with open(sys.argv[1], "w") as out:
        for outcome, test_id, detail in result.records:
            out.write("%s\t%s\t%s\n" % (outcome, test_id, detail.replace("\\", "\\\\").replace("\n", "\\n")
                                        .replace("\t", " ")))
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
