"""Every configuration under examples/ loads: what the docs hand to a new user must work as
written."""
import glob
import os
import subprocess
import unittest

from harness import BIN

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../examples")


class ExamplesTest(unittest.TestCase):
    def test_every_example_validates(self):
        files = sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml")))
        self.assertGreaterEqual(len(files), 2)
        for path in files:
            out = subprocess.run([BIN, "validate", "-c", path], capture_output=True, text=True)
            self.assertEqual(out.returncode, 0, f"{path}:\n{out.stdout}{out.stderr}")


if __name__ == "__main__":
    unittest.main()
