"""The waf gate runs OWASP CRS v4.28.0 unmodified: every test of tests/crs/subset (40 of CRS's own
regression test files, judged as go-ftw judges them by tests/crs/run.py: rampart with the gate in
detection mode in front of an albedo stand-in, audit records bracketed by marker requests) passes,
except where tests/crs/overrides.yaml says otherwise, with a reason."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from harness import BIN, SLOW

CRS = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crs"))
SUBSET = os.path.join(CRS, "subset")
sys.path.insert(0, CRS)
import run as crs_run  # noqa: E402  (tests/crs/run.py: its loader tells which tests the subset holds)


class WafCrsSubsetTest(unittest.TestCase):
    def test_every_subset_test_passes(self):
        files = crs_run.find_test_files([SUBSET])
        tests, load_errors, _ = crs_run.load_tests(files, {})
        self.assertEqual(load_errors, [])
        self.assertGreaterEqual(len(files), 40)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "results.json")
            proc = subprocess.run(
                [sys.executable, os.path.join(CRS, "run.py"), SUBSET, "--bin", BIN, "--json", out,
                 "--read-timeout", str(5 * SLOW), "--marker-timeout", str(6 * SLOW)],
                capture_output=True, text=True, timeout=900 * SLOW)
            report = f"run.py exited {proc.returncode}:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
            self.assertTrue(os.path.exists(out), report)
            with open(out) as f:
                results = json.load(f)["results"]
        self.assertEqual(sorted(r["id"] for r in results), sorted(t.ident for t in tests), report)
        failed = [f"{r['id']}: {' | '.join(r['reasons'])}" for r in results if r["result"] == "failed"]
        self.assertEqual(failed, [], report)
        for r in results:
            if r["result"] == "skipped":
                self.assertTrue(r["override"], r["id"])  # skipped only by an override with a reason
        self.assertEqual(proc.returncode, 0, report)


if __name__ == "__main__":
    unittest.main()
