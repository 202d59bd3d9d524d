#!/usr/bin/env python3
"""GoTestWAF's test cases (github.com/wallarm/gotestwaf, testcases/) as whole requests for
rampart_waf_diff --records: every payload, through every encoder and placeholder its file names,
built the way GoTestWAF's Go HTTP client builds it (encoders: Plain, URL = Go's url.PathEscape,
Base64, Base64Flat, JSUnicode, XMLEntity; placeholders: URLPath, URLParam, Header, UserAgent,
JSONRequest, JSONBody, HTMLForm, HTMLMultipartForm, SOAPBody, XMLBody, RequestBody). RawRequest,
GraphQL and gRPC placeholders are left out, as are requests whose target or fields hold bytes no
HTTP/1.1 parser accepts (rampart answers those 400 before any gate).

    gotestwaf_requests.py TESTCASES_DIR OUT.rec
"""
import base64
import glob
import html
import os
import random
import sys

import yaml

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/90.0.4430.93 Safari/537.36")
SOAP = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
	xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
	<soapenv:Header>
		<ns1:RequestHeader soapenv:actor="http://schemas.xmlsoap.org/soap/actor/next"
			soapenv:mustUnderstand="0" xmlns:ns1="https://www.google.com/apis/ads/publisher/v202002">
		</ns1:RequestHeader>
	</soapenv:Header>
	<soapenv:Body>
		<getAdUnitsByStatement xmlns="https://www.google.com/apis/ads/publisher/v202002">
			<filterStatement>
				<%s>%s</%s>
			</filterStatement>
		</getAdUnitsByStatement>
	</soapenv:Body>
</soapenv:Envelope>"""

rng = random.Random(7)  # GoTestWAF draws names at random; a fixed seed keeps runs comparable


def name():
    return "%010x" % rng.getrandbits(40)


def raw(s):
    return s.encode("utf-8", "surrogateescape")


def path_escape(s):
    """Go's url.PathEscape."""
    out = []
    for b in raw(s):
        c = chr(b)
        if b < 128 and (c.isalnum() or c in "-_.~$&+,:;=@"):
            out.append(c)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def encode(encoder, p):
    if encoder == "Plain":
        return p
    if encoder == "URL":
        return path_escape(p)
    if encoder == "Base64":
        return base64.b64encode(raw(p)).decode()
    if encoder == "Base64Flat":
        return base64.b64encode(raw(p)).decode().replace("=", "")
    if encoder == "JSUnicode":
        u = p.encode("utf-16-be", "surrogatepass")
        return "".join("\\u%02x%02x" % (u[i], u[i + 1]) for i in range(0, len(u), 2))
    if encoder == "XMLEntity":  # Go's xml.EscapeText
        return html.escape(p, quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")
    return None


def request(placeholder, p):
    """(method, target, extra headers, body) or None when the placeholder is not built here."""
    if placeholder == "URLPath":
        return "GET", "/" + p, [], b""
    if placeholder == "URLParam":
        return "GET", "/?" + name() + "=" + p, [], b""
    if placeholder == "Header":
        return "GET", "/", [("X-" + name(), p)], b""
    if placeholder == "UserAgent":
        return "GET", "/", [("User-Agent", p)], b""
    if placeholder == "JSONRequest":
        body = '{"test": true, "%s": "%s"}' % (name(), encode("JSUnicode", p))
        return "POST", "/", [("Content-Type", "application/json")], raw(body)
    if placeholder == "JSONBody":
        return "POST", "/", [("Content-Type", "application/json")], raw(p)
    if placeholder == "HTMLForm":
        return "POST", "/", [("Content-Type", "application/x-www-form-urlencoded")], raw(p)
    if placeholder == "HTMLMultipartForm":
        boundary = "%030x" % rng.getrandbits(120)
        body = (raw("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n" % (boundary, name()))
                + raw(p) + raw("\r\n--%s--\r\n" % boundary))
        return "POST", "/", [("Content-Type", "multipart/form-data; boundary=" + boundary)], body
    if placeholder == "SOAPBody":
        n = name()
        return "POST", "/", [("SOAPAction", '"http://schemas.xmlsoap.org/soap/actor/next"'),
                             ("Content-Type", "text/xml")], raw(SOAP % (n, encode("XMLEntity", p), n))
    if placeholder == "XMLBody":
        return "POST", "/", [("Content-Type", "application/xml")], raw(p)
    if placeholder == "RequestBody":
        return "POST", "/", [], raw(p)
    return None


def write(out, label, method, target, extra, body):
    headers = [("Host", "example.com")]
    if not any(k == "User-Agent" for k, _ in extra):
        headers.append(("User-Agent", UA))
    headers += extra
    if method == "POST":
        headers.append(("Content-Length", str(len(body))))
    if any(b <= 0x20 or b == 0x7F for b in raw(target)):
        return "unsendable"
    if any(c in v for _, v in headers for c in "\r\n\0"):
        return "unsendable"
    out.write(b"REC " + raw(label) + b"\n" + raw(method + " " + target) + b"\n")
    out.write(b"%d\n" % len(headers))
    for k, v in headers:
        out.write(raw(k + ": " + v) + b"\n")
    out.write(b"%d\n" % len(body) + body + b"\n")
    return "written"


def load(path):
    text = open(path, encoding="utf-8").read()
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return yaml.safe_load(text.replace("\\'", "'"))  # one file escapes quotes YAML's way


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, counts = sys.argv[1], {}
    with open(sys.argv[2], "wb") as out:
        for path in sorted(glob.glob(os.path.join(root, "*", "*.yml"))):
            case = load(path) or {}
            group = os.path.relpath(path, root)[:-4]
            for p in map(str, case.get("payload") or []):
                for encoder in case.get("encoder") or []:
                    for placeholder in case.get("placeholder") or []:
                        encoded = encode(encoder, p)
                        built = request(placeholder, encoded) if isinstance(placeholder, str) \
                            and encoded is not None else None
                        if built is None:
                            result = "not built"
                        else:
                            label = "\t".join((group, placeholder, encoder,
                                               p.replace("\t", " ").replace("\n", " ")[:200]))
                            result = write(out, label, *built)
                        counts[result] = counts.get(result, 0) + 1
    print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
