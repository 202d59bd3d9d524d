"""The harness's own start-up check: a process counts as started only when the listener on its
port is its own socket, not another process's (tests run in parallel and pick ports that were
free a moment before)."""
import socket
import subprocess
import sys
import unittest

from harness import PortTaken, free_port, stop_process, wait_port

# A process that listens on the port given, with SO_REUSEPORT as rampart's listeners do, and
# waits to be stopped.
LISTENER = """
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(60)
"""


def listen_here(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    s.listen()
    return s


class WaitPortTest(unittest.TestCase):
    def start(self, args):
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(stop_process, proc)
        return proc

    def test_its_own_listener_counts(self):
        port = free_port()
        wait_port(port, self.start([sys.executable, "-c", LISTENER, str(port)]))

    def test_another_process_on_the_port_is_named(self):
        port = free_port()
        with listen_here(port):  # took the port first
            with self.assertRaises(PortTaken):
                wait_port(port, self.start([sys.executable, "-c", LISTENER, str(port)]))

    def test_another_process_alone_on_the_port_is_not_taken_for_it(self):
        port = free_port()
        with listen_here(port):  # connections succeed, but to this process
            with self.assertRaises(RuntimeError) as e:
                wait_port(port, self.start(["sleep", "30"]), timeout=0.5)
            self.assertNotIsInstance(e.exception, PortTaken)
            self.assertIn("did not open", str(e.exception))


if __name__ == "__main__":
    unittest.main()
