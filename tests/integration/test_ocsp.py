"""OCSP stapling against the real binary, with `openssl ocsp` as the responder: a fetched staple
that says good, one that says revoked, none with `ocsp: off`, the staple kept (and the error
shown) when the responder goes away, retries until it comes back, staples read from a file and
re-read when it changes, a stale file never stapled, and config errors."""
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from certs import Pki
from harness import SLOW, Rampart, free_port, validate, wait_until

CONFIG = """
listeners:
  - name: public
    address: 127.0.0.1:{port}
    tls:
      certificates:
        - {{ cert: good-chain.pem, key: good.key }}
        - {{ cert: revoked-chain.pem, key: revoked.key }}
  - name: plain
    address: 127.0.0.1:{poff}
    tls: {{ cert: good-chain.pem, key: good.key, ocsp: off }}
  - name: file
    address: 127.0.0.1:{pfile}
    tls: {{ cert: good-chain.pem, key: good.key, ocsp_file: staple.der }}
routes:
  - name: default
    match: {{ path_prefix: / }}
    upstream: app
upstreams:
  app:
    endpoints: [127.0.0.1:1]
admin: {{ address: 127.0.0.1:{admin} }}
"""


def make_pki(d, ocsp_port):
    """A CA, its delegated OCSP responder, and two server certificates naming the responder:
    `good` (valid in the CA's index) and `revoked`. Chains (leaf + CA) beside them."""
    pki = Pki(d)
    aia = f"authorityInfoAccess=OCSP;URI:http://127.0.0.1:{ocsp_port}\n"
    pki.issue("responder", "rampart test OCSP responder", "DNS:ocsp.test", eku="OCSPSigning")
    pki.issue("good", "good.test", "DNS:localhost,DNS:good.test", extra=aia)
    pki.issue("revoked", "revoked.test", "DNS:revoked.test", extra=aia)
    ca_args = ["-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem"]
    subprocess.run(["openssl", "ca", *ca_args, "-valid", "good.pem"], cwd=d, check=True,
                   capture_output=True)
    pki.revoke(pki.path("revoked.pem"))
    for name in ("good", "revoked"):
        with open(pki.path(f"{name}-chain.pem"), "w") as out:
            for part in (f"{name}.pem", "ca.pem"):
                with open(pki.path(part)) as f:
                    out.write(f.read())
    return pki


def respond_to_file(pki, cert, out, index="index.txt", validity=("-ndays", "1")):
    """What the responder would answer for `cert`, written to `out` (`openssl ocsp -respout`)."""
    d = pki.dir
    subprocess.run(["openssl", "ocsp", "-issuer", "ca.pem", "-cert", cert, "-no_nonce",
                    "-reqout", "req.der"], cwd=d, check=True, capture_output=True)
    subprocess.run(["openssl", "ocsp", "-index", index, "-rsigner", "responder.pem", "-rkey",
                    "responder.key", "-CA", "ca.pem", "-reqin", "req.der", "-respout", out,
                    *validity], cwd=d, check=True, capture_output=True)


class Responder:
    """`openssl ocsp` serving the PKI's index on a loopback port; responses valid for a minute
    (so that rampart refreshes them within about 30 seconds)."""

    def __init__(self, pki, port):
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            ["openssl", "ocsp", "-index", "index.txt", "-port", str(port), "-rsigner",
             "responder.pem", "-rkey", "responder.key", "-CA", "ca.pem", "-nmin", "1",
             "-ignore_err"],
            cwd=pki.dir, stdout=self.log, stderr=self.log)
        # Not wait_port: a connection that sends nothing hangs this single-threaded responder
        # (OpenSSL 3.0). It says when it listens.
        if not wait_until(lambda: b"waiting for OCSP client" in self.output(), 10):
            raise RuntimeError(f"openssl ocsp did not start: {self.output()!r}")

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def s_client(port, name="localhost"):
    """What `openssl s_client -status` prints of the staple it was sent."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername",
                          name, "-status"], input=b"", capture_output=True, timeout=15 * SLOW)
    text = out.stdout.decode(errors="replace")
    if "no response sent" in text:
        return None
    start = text.find("OCSP Response Data:")
    assert start >= 0, text
    return text[start:text.find("---", start)]


def staples(rampart):
    """{(listener, certificate file's base name): its "ocsp" member} from /admin/certificates."""
    status, body = rampart.admin("GET", "/admin/certificates")
    assert status == 200, body
    out = {}
    for l in json.loads(body)["listeners"]:
        for c in l["certificates"]:
            out[(l["listener"], os.path.basename(c["file"]))] = c["ocsp"]
    return out


def wait_for(rampart, key, pred, timeout):
    """Polls /admin/certificates (bounded) until the staple of `key` satisfies `pred`; it."""
    seen = {}

    def check():
        seen["s"] = staples(rampart)[key]
        return pred(seen["s"])

    assert wait_until(check, timeout), f"{key}: {seen.get('s')}"
    return seen["s"]


class OcspTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        ocsp_port = free_port()
        cls.pki = make_pki(d, ocsp_port)
        respond_to_file(cls.pki, "good.pem", "staple.der")
        cls.responder = Responder(cls.pki, ocsp_port)
        cls.ocsp_url = f"http://127.0.0.1:{ocsp_port}"
        cls.ports = {"poff": free_port(), "pfile": free_port()}
        body = CONFIG
        for k, v in cls.ports.items():
            body = body.replace("{" + k + "}", str(v))
        cls.rampart = Rampart(body, config_dir=d)

    @classmethod
    def tearDownClass(cls):
        cls.rampart.stop()
        cls.responder.stop()
        cls.tmp.cleanup()

    def test_fetched_staple_says_good(self):
        s = wait_for(self.rampart, ("public", "good-chain.pem"), lambda s: s["status"] == "good",
                     10)
        self.assertEqual(s["source"], "fetched")
        self.assertEqual(s["url"], self.ocsp_url)
        self.assertEqual(s["next_update"] - s["this_update"], 60)  # the responder's -nmin 1
        self.assertTrue(s["this_update"] < s["next_refresh"] < s["next_update"], s)
        self.assertEqual(s["last_error"], "")
        staple = s_client(self.rampart.port)
        self.assertIn("Response Status: successful", staple)
        self.assertIn("Cert Status: good", staple)
        self.assertGreaterEqual(self.rampart.metric(
            'rampart_ocsp_fetches_total{certificate="%s",result="ok"}'
            % self.pki.path("good-chain.pem")), 1)
        expiry = 'rampart_ocsp_staple_expiry_seconds{certificate="%s",source="%s"}'
        fetched = self.rampart.metric(expiry % (self.pki.path("good-chain.pem"), "fetched"))
        self.assertTrue(0 < fetched <= 60, fetched)
        from_file = self.rampart.metric(expiry % (self.pki.path("good-chain.pem"), "file"))
        self.assertTrue(60 < from_file <= 86400, from_file)  # -respout with -ndays 1

    def test_revoked_certificate_gets_a_revoked_staple(self):
        wait_for(self.rampart, ("public", "revoked-chain.pem"),
                 lambda s: s["status"] == "revoked", 10)
        staple = s_client(self.rampart.port, "revoked.test")
        self.assertIn("Cert Status: revoked", staple)

    def test_off_staples_nothing(self):
        s = staples(self.rampart)[("plain", "good-chain.pem")]
        self.assertEqual(s["source"], "none")
        self.assertEqual(s["last_error"], "ocsp: off")
        self.assertIsNone(s_client(self.ports["poff"]))

    def test_file_is_served_and_reread_when_it_changes(self):
        key = ("file", "good-chain.pem")
        s = staples(self.rampart)[key]
        self.assertEqual(s["source"], "file")
        self.assertEqual(s["status"], "good")
        self.assertIsNone(s["next_refresh"])
        self.assertIn("Cert Status: good", s_client(self.ports["pfile"]))
        # The operator's next file says revoked (another index, where the certificate is).
        with open(self.pki.path("index.txt")) as f:
            lines = f.read().splitlines()
        serial = subprocess.run(["openssl", "x509", "-in", self.pki.path("good.pem"), "-noout",
                                 "-serial"], capture_output=True, text=True).stdout.split("=")[1]
        with open(self.pki.path("index-revoked.txt"), "w") as f:
            for l in lines:
                fields = l.split("\t")
                if fields[3].upper() == serial.strip().upper():
                    fields[0], fields[2] = "R", "260101000000Z,keyCompromise"
                f.write("\t".join(fields) + "\n")
        respond_to_file(self.pki, "good.pem", "next.der", index="index-revoked.txt")
        os.replace(self.pki.path("next.der"), self.pki.path("staple.der"))
        wait_for(self.rampart, key, lambda s: s["status"] == "revoked", 10)
        self.assertIn("Cert Status: revoked", s_client(self.ports["pfile"]))
        # A broken file is refused: the last good one keeps serving.
        refused = 'rampart_tls_certificate_reloads_total{listener="file",result="refused"}'
        before = self.rampart.metric(refused)
        with open(self.pki.path("junk.der"), "wb") as f:
            f.write(b"not an OCSP response")
        os.replace(self.pki.path("junk.der"), self.pki.path("staple.der"))
        self.assertTrue(wait_until(lambda: self.rampart.metric(refused) > before, 10))
        self.assertIn("not a valid OCSP response", self.rampart.logs())
        self.assertIn("Cert Status: revoked", s_client(self.ports["pfile"]))


class OcspOutageTest(unittest.TestCase):
    """rampart starts before its responder, which later goes away again."""

    def test_retries_until_the_responder_answers_and_keeps_the_staple_when_it_is_gone(self):
        with tempfile.TemporaryDirectory() as d:
            ocsp_port = free_port()
            pki = make_pki(d, ocsp_port)
            rampart = Rampart("""
                listeners:
                  - name: public
                    address: 127.0.0.1:{port}
                    tls: {{ cert: good-chain.pem, key: good.key }}
                routes: [ {{ name: r, upstream: app }} ]
                upstreams: {{ app: {{ endpoints: [127.0.0.1:1] }} }}
                admin: {{ address: 127.0.0.1:{admin} }}
                """, config_dir=d)
            responder = None
            try:
                key = ("public", "good-chain.pem")
                s = wait_for(rampart, key, lambda s: s["last_error"] != "", 10)
                self.assertEqual(s["status"], "none")
                self.assertIsNone(s_client(rampart.port))
                # Retried with backoff (2s, 4s, 8s ...): the responder's first answer is used.
                responder = Responder(pki, ocsp_port)
                s = wait_for(rampart, key, lambda s: s["status"] == "good", 30)
                self.assertEqual(s["last_error"], "")
                # The responder goes away: the refresh (about halfway through the minute the
                # response is valid) fails, and the good staple is still served.
                responder.stop()
                s = wait_for(rampart, key, lambda s: s["last_error"] != "", 60)
                self.assertEqual(s["status"], "good")
                self.assertGreaterEqual(s["fetches_failed"], 2)
                self.assertLess(s["next_refresh"], s["next_update"])
                self.assertIn("Cert Status: good", s_client(rampart.port))
                self.assertIn("the last good staple is kept", rampart.logs())
            finally:
                if responder:
                    responder.stop()
                rampart.stop()


def stale_response(pki, cert, out):
    """A response signed by the responder whose nextUpdate has passed (openssl ocsp cannot make
    one), with the `cryptography` package."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    def load(name):
        with open(pki.path(name), "rb") as f:
            return f.read()

    leaf = x509.load_pem_x509_certificate(load(cert))
    ca = x509.load_pem_x509_certificate(load("ca.pem"))
    responder = x509.load_pem_x509_certificate(load("responder.pem"))
    key = serialization.load_pem_private_key(load("responder.key"), None)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    builder = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf, issuer=ca, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=now - datetime.timedelta(hours=2),
        next_update=now - datetime.timedelta(hours=1), revocation_time=None,
        revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
    builder = builder.certificates([responder])
    with open(pki.path(out), "wb") as f:
        f.write(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def has_cryptography():
    try:
        import cryptography.x509.ocsp  # noqa: F401
        return True
    except ImportError:
        return False


class OcspFileTest(unittest.TestCase):
    @unittest.skipUnless(has_cryptography(), "needs the cryptography package")
    def test_a_stale_file_is_loaded_but_never_stapled(self):
        with tempfile.TemporaryDirectory() as d:
            pki = make_pki(d, free_port())
            stale_response(pki, "good.pem", "stale.der")
            rampart = Rampart("""
                listeners:
                  - name: public
                    address: 127.0.0.1:{port}
                    tls: {{ cert: good-chain.pem, key: good.key, ocsp_file: stale.der }}
                routes: [ {{ name: r, upstream: app }} ]
                upstreams: {{ app: {{ endpoints: [127.0.0.1:1] }} }}
                admin: {{ address: 127.0.0.1:{admin} }}
                """, config_dir=d)
            try:
                s = staples(rampart)[("public", "good-chain.pem")]
                self.assertEqual(s["status"], "stale")
                self.assertLess(s["next_update"], time.time())
                self.assertIsNone(s_client(rampart.port))
                self.assertIn("is stale", rampart.logs())
            finally:
                rampart.stop()

    def test_config_errors_name_the_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            pki = make_pki(d, free_port())
            chain, key = pki.path("good-chain.pem"), pki.path("good.key")
            with open(pki.path("junk.der"), "wb") as f:
                f.write(b"junk")
            respond_to_file(pki, "revoked.pem", "other.der")
            head = "listeners:\n  - name: l\n    address: 127.0.0.1:1\n"
            cases = {
                f"    tls: {{ cert: {chain}, key: {key}, ocsp_file: {pki.path('junk.der')} }}\n":
                    f"c.yaml:4: listener 'l': tls: ocsp_file '{pki.path('junk.der')}': not a "
                    "valid OCSP response for",
                f"    tls: {{ cert: {chain}, key: {key}, ocsp_file: {pki.path('other.der')} }}\n":
                    "the response does not answer for this certificate",
                f"    tls: {{ cert: {chain}, key: {key}, ocsp_file: /nonexistent.der }}\n":
                    "ocsp_file '/nonexistent.der': cannot read it",
                f"    tls: {{ cert: {chain}, key: {key}, ocsp: maybe }}\n":
                    "c.yaml:4: listeners[0].tls.ocsp: 'maybe' is not auto or off",
                f"    tls:\n      certificates:\n        - {{ cert: {chain}, key: {key}, ocsp: off, "
                "ocsp_file: x.der }\n":
                    "c.yaml:6: listeners[0].tls.certificates[0].ocsp_file: not with 'ocsp: off'",
            }
            for tls, message in cases.items():
                out, _ = validate(head + tls)
                self.assertEqual(out.returncode, 1, tls)
                self.assertIn(message, out.stdout + out.stderr, tls)
            # The same file for the right certificate is accepted.
            shutil.copy(pki.path("other.der"), pki.path("right.der"))
            rkey, rchain = pki.path("revoked.key"), pki.path("revoked-chain.pem")
            out, _ = validate(head + f"    tls: {{ cert: {rchain}, key: {rkey}, "
                              f"ocsp_file: {pki.path('right.der')} }}\n")
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
