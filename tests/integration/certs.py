"""Test PKI made with the openssl CLI: a CA, server certificates (ECDSA P-256) with SANs, client
certificates with SPIFFE IDs, a revoked client and its CRL, and a second, untrusted CA."""
import os
import subprocess


def _run(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


class Pki:
    def __init__(self, d):
        self.dir = d
        self.ca = self._ca("ca", "rampart test CA")
        self.other_ca = self._ca("other-ca", "untrusted CA")
        with open(os.path.join(d, "index.txt"), "w"):
            pass
        with open(os.path.join(d, "crlnumber"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\n"
                    "default_md = sha256\ndefault_crl_days = 30\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _ca(self, name, cn):
        _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "30",
             "-subj", f"/CN={cn}", cwd=self.dir)
        return self.path(f"{name}.pem")

    def issue(self, name, cn, san, client=False, ca="ca", days=30, rsa=False, eku=None, extra=""):
        """A certificate signed by `ca` (a P-256 key, or RSA 2048); returns (cert path, key path).
        `eku` replaces the extended key usage; `extra` is more extension lines (OpenSSL syntax)."""
        ext = os.path.join(self.dir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write(f"subjectAltName={san}\n")
            f.write(f"extendedKeyUsage={eku or ('clientAuth' if client else 'serverAuth')}\n")
            f.write(extra)
        key = ["rsa:2048"] if rsa else ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        _run("openssl", "req", "-new", "-newkey", *key, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={cn}",
             cwd=self.dir)
        _run("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey",
             f"{ca}.key", "-CAcreateserial", "-days", str(days), "-out", f"{name}.pem",
             "-extfile", ext, cwd=self.dir)
        return self.path(f"{name}.pem"), self.path(f"{name}.key")

    def revoke(self, cert):
        _run("openssl", "ca", "-config", "ca.cnf", "-revoke", cert, "-keyfile", "ca.key", "-cert",
             "ca.pem", cwd=self.dir)

    def crl(self):
        _run("openssl", "ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "ca.key", "-cert",
             "ca.pem", "-out", "crl.pem", cwd=self.dir)
        return self.path("crl.pem")
