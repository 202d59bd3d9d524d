"""Keys and tokens for the jwt tests, made by OpenSSL through the `cryptography` package (Debian's
python3-cryptography): EC P-256, RSA 2048 and Ed25519 keys, their public JWKs, and compact JWS
tokens signed with them, including the malformed and hostile ones an attacker sends."""
import base64
import json
import sys
import time

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
except ImportError:  # an interpreter without it: Debian's package
    sys.path.append("/usr/lib/python3/dist-packages")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
import hashlib
import hmac


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return n.to_bytes(size, "big")


class Key:
    """A private key, its kid and alg, and its public JWK."""

    def __init__(self, kind, kid):
        self.kind, self.kid = kind, kid
        if kind == "ES256":
            self.priv = ec.generate_private_key(ec.SECP256R1())
            n = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "EC", "crv": "P-256", "kid": kid,
                        "x": b64(_int_bytes(n.x, 32)), "y": b64(_int_bytes(n.y, 32))}
        elif kind == "RS256":
            self.priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            n = self.priv.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "kid": kid, "n": b64(_int_bytes(n.n)), "e": b64(_int_bytes(n.e))}
        elif kind == "EdDSA":
            self.priv = ed25519.Ed25519PrivateKey.generate()
            raw = self.priv.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)
            self.jwk = {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(raw)}
        else:
            raise ValueError(kind)

    def public_pem(self):
        return self.priv.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data):
        if self.kind == "ES256":
            r, s = utils.decode_dss_signature(self.priv.sign(data, ec.ECDSA(hashes.SHA256())))
            return _int_bytes(r, 32) + _int_bytes(s, 32)
        if self.kind == "RS256":
            return self.priv.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return self.priv.sign(data)


def jwks(*keys):
    return json.dumps({"keys": [k.jwk for k in keys]})


def claims(iss="https://id.test", aud="api", sub="alice", lifetime=600, **extra):
    now = int(time.time())
    c = {"iss": iss, "aud": aud, "sub": sub, "iat": now, "exp": now + lifetime}
    c.update(extra)
    return {k: v for k, v in c.items() if v is not None}


def token(key, payload=None, header=None, alg=None, raw_payload=None):
    """A token signed by `key` (a Key, or bytes: an HMAC secret for HS256)."""
    if isinstance(key, bytes):
        h = {"alg": alg or "HS256", "typ": "JWT"}
    else:
        h = {"alg": alg or key.kind, "typ": "JWT", "kid": key.kid}
    if header:
        h.update(header)
    p = raw_payload if raw_payload is not None else json.dumps(payload or claims())
    signing_input = (b64(json.dumps(h)) + "." + b64(p)).encode()
    if isinstance(key, bytes):
        sig = hmac.new(key, signing_input, hashlib.sha256).digest()
    else:
        sig = key.sign(signing_input)
    return signing_input.decode() + "." + b64(sig)
