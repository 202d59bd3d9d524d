"""The /metrics scrape stays valid Prometheus text whatever names the configuration uses (a route
called `we"ird\\name`), and local replies are counted by their real reason."""
import re
import unittest

from harness import Origin, Rampart

CONFIG = r"""
workers: 1
listeners:
  - name: public
    address: 127.0.0.1:{port}
routes:
  - name: 'we"ird\name'
    match: {{ path_prefix: /limited }}
    upstream: app
    gates:
      - rate_limit: {{ name: 'l"1', key: [client_ip], algorithm: fixed_window, rate: 1/h }}
  - name: all
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app: {{ endpoints: [{origin}] }}
admin: {{ address: 127.0.0.1:{admin} }}
"""

# A sample line: name, optional {labels}, value (text format 0.0.4).
LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\\n])*",?)*\})? '
                  r'[-+0-9.eEInfa]+$')


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.rampart = Rampart(CONFIG, cls.origin)
        cls.statuses = [cls.rampart.get("/limited") for _ in range(3)]  # 1 per hour: 200, 429, 429

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.origin.stop()

    def test_scrape_is_valid_with_quotes_and_backslashes_in_names(self):
        self.assertEqual(self.statuses, [200, 429, 429])
        _, text = self.rampart.admin("GET", "/metrics")
        for line in text.splitlines():
            if line.startswith("#") or not line:
                continue
            self.assertRegex(line, LINE)
        self.assertIn(r'rampart_http_requests_total{route="we\"ird\\name",status_class="4xx"} 2',
                      text)
        self.assertIn(r'rampart_rate_limit_requests_total{route="we\"ird\\name",limit="l\"1",'
                      r'decision="refused"} 2', text)

    def test_local_replies_are_counted_by_their_reason(self):
        self.assertEqual(
            self.rampart.metric('rampart_http_local_replies_total{reason="rate_limited"}'), 2)
        self.assertEqual(self.rampart.metric('rampart_http_local_replies_total{reason="gate"}'), 0)


if __name__ == "__main__":
    unittest.main()
