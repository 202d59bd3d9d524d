#!/usr/bin/env python3
"""Runs OWASP CRS's regression tests (go-ftw's YAML format) against rampart's WAF gate and judges
them the way go-ftw does. See tests/crs/README.md.

    run.py [PATH ...]            test files or directories (recursive, *.yaml and *.yml)
           [--rule 942100] [--test 942100-3] [--include RE] [--exclude RE]
           [--overrides FILE] [--dry-run] [--no-waf] [--json OUT]
           [--min-pass N] [--must-pass FILE] [--strict]

It starts rampart ($RAMPART_BIN, else build/release/rampart) on a free port with one route whose
`waf` gate loads tests/crs/ftw.conf and CRS, in front of tests/crs/albedo.py; brackets every test
stage with marker requests (`X-CRS-Test: <id>`) and judges the stage on the audit records
written between the two markers.
"""
import argparse
import ast
import base64
import collections
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import quote_plus, urljoin, urlsplit

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (free_port, wait_port, Rampart: the integration tests' helpers)

DEFAULT_TESTS = os.path.normpath(os.path.join(ROOT, "..", "shared", "crs", "tests", "regression", "tests"))
DEFAULT_CRS_RULES = os.path.normpath(os.path.join(ROOT, "..", "shared", "crs", "rules"))
DEFAULT_OVERRIDES = os.path.join(HERE, "overrides.yaml")
FTW_CONF = os.path.join(HERE, "ftw.conf")
MARKER_HEADER = "X-CRS-Test"  # go-ftw's default LogMarkerHeaderName


# ---------------------------------------------------------------------------------------------
# YAML: go-ftw unmarshals into typed Go fields (strings stay strings: `Content-Length: 7`,
# `version: 1.1`, `value: yes` are text), so every plain scalar is read as a string here and
# converted where the schema has a number or a boolean. Duplicate keys are an error (yaml.v3/v4).

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    pass


_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"),
                              ["~", "n", "N", ""])
_Loader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    out = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping key {key!r} already defined", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=deep)
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)


def _int(v, what):
    if isinstance(v, bool) or v is None:
        raise ValueError(f"{what}: not a number: {v!r}")
    if isinstance(v, int):
        return v
    try:
        return int(str(v).replace("_", ""), 0)
    except ValueError:
        raise ValueError(f"{what}: not a number: {v!r}") from None


def _bool(v, what):
    if v is None or isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "yes", "y", "on"):
        return True
    if s in ("false", "no", "n", "off"):
        return False
    raise ValueError(f"{what}: not a boolean: {v!r}")


def _str(v):
    return None if v is None else str(v)


def _int_list(v, what):
    if v is None:
        return None
    if not isinstance(v, list):
        v = [v]
    return [_int(x, what) for x in v]


# ---------------------------------------------------------------------------------------------
# The test model (ftw-tests-schema v2, plus the v3 payload/template form and older ftw keys).

INPUT_KEYS = {"dest_addr", "port", "protocol", "uri", "follow_redirect", "version", "method",
              "headers", "ordered_headers", "data", "encoded_data", "save_cookie", "stop_magic",
              "autocomplete_headers", "encoded_request", "response", "virtual_host_mode"}
OUTPUT_KEYS = {"status", "response_contains", "log_contains", "no_log_contains", "log",
               "expect_error", "retry_once", "isolated"}
LOG_KEYS = {"expect_ids", "no_expect_ids", "match_regex", "no_match_regex"}


def _mapping(raw, what, known, where, warnings):
    """`raw` as a mapping ({} for none); unknown keys are warned about and ignored, as go-ftw
    does."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: {what} is not a mapping")
    for k in raw:
        if k not in known:
            warnings.append(f"{where}: unknown {what} key {k!r} (ignored, as go-ftw does)")
    return raw


class Input:
    """A stage's request, as go-ftw's test.Input after postLoadInput."""

    def __init__(self, raw, where, warnings):
        raw = _mapping(raw, "input", INPUT_KEYS, where, warnings)
        self.dest_addr = _str(raw.get("dest_addr"))
        self.port = _int(raw["port"], f"{where}: port") if raw.get("port") is not None else None
        self.protocol = _str(raw.get("protocol"))
        self.uri = _str(raw.get("uri"))
        self.version = _str(raw.get("version"))
        self.method = _str(raw.get("method"))
        self.follow_redirect = _bool(raw.get("follow_redirect"), f"{where}: follow_redirect")
        self.save_cookie = _bool(raw.get("save_cookie"), f"{where}: save_cookie")
        self.virtual_host_mode = bool(_bool(raw.get("virtual_host_mode"), f"{where}: virtual_host_mode"))
        data = raw.get("data")
        if isinstance(data, list):
            # older ftw (Python): a list of lines joined with CRLF; go-ftw's schema has a string
            warnings.append(f"{where}: data is a list (old ftw); joined with CRLF")
            data = "\r\n".join("" if x is None else str(x) for x in data)
        self.data = _str(data)
        self.encoded_data = _str(raw.get("encoded_data"))
        self.encoded_request = _str(raw.get("encoded_request")) or ""
        self.response = raw.get("response")
        if self.response:
            warnings.append(f"{where}: input.response (albedo's /configure_reflection) is not supported")
        # postProcessAutocompleteHeaders: autocomplete_headers wins; stop_magic is its inverse
        ac = _bool(raw.get("autocomplete_headers"), f"{where}: autocomplete_headers")
        sm = _bool(raw.get("stop_magic"), f"{where}: stop_magic")
        self.autocomplete = ac if ac is not None else (not sm if sm is not None else True)
        # postProcessHeaders: ordered_headers as given; else the `headers` map sorted by name
        self.headers = []
        if raw.get("ordered_headers") is not None:
            for h in raw["ordered_headers"]:
                if not isinstance(h, dict):
                    raise ValueError(f"{where}: ordered_headers entries are {{name, value}}")
                self.headers.append((_str(h.get("name")) or "", _str(h.get("value")) or ""))
        elif raw.get("headers") is not None:
            hm = raw["headers"]
            if not isinstance(hm, dict):
                raise ValueError(f"{where}: headers is not a mapping")
            for name in sorted(hm, key=lambda n: str(n).encode("utf-8")):
                self.headers.append((str(name), _str(hm[name]) or ""))

    def get_method(self):
        return "GET" if self.method is None else self.method

    def get_uri(self):
        return "/" if self.uri is None else self.uri

    def get_version(self):
        return "HTTP/1.1" if self.version is None else self.version

    def get_protocol(self):
        return "http" if self.protocol is None else self.protocol

    def get_dest_addr(self):
        return "localhost" if self.dest_addr is None else self.dest_addr

    def get_port(self):
        return 80 if self.port is None else self.port


class Output:
    """A stage's expectations, as go-ftw's Output after postProcessLogContains."""

    def __init__(self, raw, where, warnings):
        raw = _mapping(raw, "output", OUTPUT_KEYS, where, warnings)
        st = raw.get("status")
        # go-ftw: one int (0 = not checked); older ftw also allowed a list
        self.status = None if st in (None, 0, "0") else _int_list(st, f"{where}: status")
        self.response_contains = _str(raw.get("response_contains")) or ""
        self.expect_error = bool(_bool(raw.get("expect_error"), f"{where}: expect_error"))
        self.retry_once = bool(_bool(raw.get("retry_once"), f"{where}: retry_once"))
        self.isolated = bool(_bool(raw.get("isolated"), f"{where}: isolated"))
        log = raw.get("log") or {}
        if not isinstance(log, dict):
            raise ValueError(f"{where}: output.log is not a mapping")
        for k in log:
            if k not in LOG_KEYS:
                warnings.append(f"{where}: unknown log key {k!r} (ignored, as go-ftw does)")
        self.expect_ids = _int_list(log.get("expect_ids"), f"{where}: expect_ids") or []
        self.no_expect_ids = _int_list(log.get("no_expect_ids"), f"{where}: no_expect_ids") or []
        self.match_regex = _str(log.get("match_regex")) or ""
        self.no_match_regex = _str(log.get("no_match_regex")) or ""
        expect_given = log.get("expect_ids") is not None
        no_expect_given = log.get("no_expect_ids") is not None
        lc, nlc = _str(raw.get("log_contains")) or "", _str(raw.get("no_log_contains")) or ""
        if lc and not expect_given and not self.match_regex:
            self.match_regex = lc
        if nlc and not no_expect_given and not self.no_match_regex:
            self.no_match_regex = nlc

    def describe(self):
        parts = []
        if self.expect_error:
            parts.append("expect_error")
        if self.status:
            parts.append(f"status={self.status[0] if len(self.status) == 1 else self.status}")
        if self.response_contains:
            parts.append(f"response_contains={self.response_contains!r}")
        if self.expect_ids:
            parts.append(f"expect_ids={self.expect_ids}")
        if self.no_expect_ids:
            parts.append(f"no_expect_ids={self.no_expect_ids}")
        if self.match_regex:
            parts.append(f"match_regex={self.match_regex!r}")
        if self.no_match_regex:
            parts.append(f"no_match_regex={self.no_match_regex!r}")
        if self.isolated:
            parts.append("isolated")
        if self.retry_once:
            parts.append("retry_once")
        return ", ".join(parts) or "(nothing)"

    def to_json(self):
        return {"status": self.status, "response_contains": self.response_contains or None,
                "expect_error": self.expect_error, "expect_ids": self.expect_ids,
                "no_expect_ids": self.no_expect_ids, "match_regex": self.match_regex or None,
                "no_match_regex": self.no_match_regex or None, "isolated": self.isolated,
                "retry_once": self.retry_once}


class Stage:
    def __init__(self, index, inp, out, raw_output):
        self.index = index  # 0-based, as override stage_ids count
        self.input = inp
        self.output = out
        self.raw_output = raw_output


class Test:
    def __init__(self, rule_id, test_id, desc, stages, path, rule_file, tags):
        self.rule_id, self.test_id, self.desc = rule_id, test_id, desc
        self.stages, self.path, self.rule_file, self.tags = stages, path, rule_file, tags

    @property
    def ident(self):
        return f"{self.rule_id}-{self.test_id}"


_PAYLOAD = re.compile(r"\{\{-?\s*\.Payload\s*-?\}\}")


def _template_stage(file_tpl, test):
    """The v3 form (`payload` + file/test `template`): one stage built from the template."""
    tpl = dict(file_tpl or {})
    tpl.update({k: v for k, v in (test.get("template") or {}).items() if v is not None})
    payload = str(test.get("payload"))

    def fill(s):
        return None if s is None else _PAYLOAD.sub(lambda _: payload, str(s))

    inp = {k: tpl[k] for k in ("dest_addr", "port", "protocol", "version", "method",
                               "autocomplete_headers", "stop_magic", "save_cookie") if k in tpl}
    inp["uri"] = fill(tpl.get("uri"))
    if tpl.get("data") is not None:
        inp["data"] = fill(tpl.get("data"))
    if tpl.get("headers"):
        inp["ordered_headers"] = [{"name": h.get("name"), "value": fill(h.get("value"))}
                                  for h in tpl["headers"]]
    return {"input": inp, "output": test.get("output") or {}}


def rule_file_names(rules_dir):
    """{'942': 'REQUEST-942-APPLICATION-ATTACK-SQLI', ...} from the CRS rules directory."""
    out = {}
    try:
        for name in os.listdir(rules_dir):
            m = re.match(r"^((?:REQUEST|RESPONSE)-(\d{3})-[A-Z0-9-]+)\.conf$", name)
            if m:
                out[m.group(2)] = m.group(1)
    except OSError:
        pass
    return out


_RULE_FILE_DIR = re.compile(r"^(?:REQUEST|RESPONSE)-\d{3}-")


def rule_file_of(path, rule_id, names):
    parent = os.path.basename(os.path.dirname(path))
    if _RULE_FILE_DIR.match(parent):
        return parent
    return names.get(str(rule_id)[:3], f"rules-{str(rule_id)[:3]}")


def find_test_files(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            for d, dirs, names in os.walk(p):
                dirs.sort()
                files += [os.path.join(d, n) for n in sorted(names)
                          if n.endswith(".yaml") or n.endswith(".yml")]
        elif os.path.isfile(p):
            files.append(p)
        else:
            raise SystemExit(f"run.py: no such test file or directory: {p}")
    return files


def load_tests(files, names):
    """(tests, load errors [(path, message)], warnings). A file that does not load is skipped
    with a message, as go-ftw does."""
    tests, errors, warnings = [], [], []
    for path in files:
        try:
            with open(path, "rb") as f:
                doc = yaml.load(f, Loader=_Loader)
            tests += _file_tests(doc or {}, path, names, warnings)
        except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as e:
            errors.append((path, str(e).replace("\n", " ")))
    return tests, errors, warnings


def _file_tests(doc, path, names, warnings):
    if not isinstance(doc, dict):
        raise ValueError("the document is not a mapping")
    rule_id = doc.get("rule_id")
    if rule_id in (None, "", "0"):
        # postLoadRuleId: fall back on the first number in the file name
        m = re.search(r"\d+", os.path.basename(path))
        if not m:
            raise ValueError("rule_id is required (and the file name has no number)")
        rule_id = int(m.group(0))
    rule_id = _int(rule_id, "rule_id")
    rule_file = rule_file_of(path, rule_id, names)
    out = []
    for pos, t in enumerate(doc.get("tests") or [], start=1):
        if not isinstance(t, dict):
            raise ValueError(f"test #{pos} is not a mapping")
        tid = t.get("id") if t.get("id") not in (None, "0", 0) else t.get("test_id")
        tid = _int(tid, "test_id") if tid not in (None, "0", 0) else pos
        where = f"{os.path.basename(path)} {rule_id}-{tid}"
        raw_stages = t.get("stages") or []
        if t.get("payload") is not None and not raw_stages:
            raw_stages = [_template_stage(doc.get("template"), t)]
        stages = []
        for i, s in enumerate(raw_stages):
            if not isinstance(s, dict):
                raise ValueError(f"{where}: stage {i + 1} is not a mapping")
            if "stage" in s and "input" not in s:  # the old ftw nesting: - stage: {input, output}
                s = s["stage"] or {}
            sw = f"{where} stage {i + 1}"
            stages.append(Stage(i, Input(s.get("input"), sw, warnings),
                                Output(s.get("output"), sw, warnings), s.get("output") or {}))
        tags = [str(x) for x in (t.get("tags") or [])]
        out.append(Test(rule_id, tid, _str(t.get("description") or t.get("desc")) or "", stages,
                        path, rule_file, tags))
    return out


# ---------------------------------------------------------------------------------------------
# Overrides: our own file in the shape of CRS's <platform>-overrides.yaml.

class Override:
    def __init__(self, raw, where):
        self.rule_id = _int(raw.get("rule_id"), f"{where}: rule_id")
        self.test_ids = _int_list(raw.get("test_ids"), f"{where}: test_ids")
        self.stage_ids = _int_list(raw.get("stage_ids"), f"{where}: stage_ids")
        self.reason = (_str(raw.get("reason")) or "").strip()
        self.skip = bool(_bool(raw.get("skip"), f"{where}: skip"))
        self.has_output = raw.get("output") is not None
        warnings = []
        self.output = Output(raw.get("output"), where, warnings) if self.has_output else None
        if warnings:
            raise ValueError("; ".join(warnings))
        if not self.reason:
            raise ValueError(f"{where}: every override needs a reason")
        if not self.skip and not self.has_output:
            raise ValueError(f"{where}: an override has `output` or `skip: true`")

    def applies(self, test):
        # go-ftw applies an entry only to the tests it names; an entry without test_ids here
        # means every test of the rule
        return test.rule_id == self.rule_id and (not self.test_ids or test.test_id in self.test_ids)


def load_overrides(path):
    if not path:
        return []
    with open(path, "rb") as f:
        doc = yaml.load(f, Loader=_Loader) or {}
    out = []
    for i, raw in enumerate(doc.get("test_overrides") or [], start=1):
        out.append(Override(raw, f"{path}: test_overrides[{i}]"))
    return out


# ---------------------------------------------------------------------------------------------
# Requests, byte for byte as go-ftw's ftwhttp.BuildRequest writes them.

class TestError(Exception):
    """The test cannot be run as written (go-ftw would stop, or send something we cannot)."""


_TPL_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_TPL_STRING = r'"(?:[^"\\]|\\.)*"|`[^`]*`'


def _go_string(lit):
    if lit.startswith("`"):
        return lit[1:-1]
    return ast.literal_eval(lit)


def render_data_template(text):
    """go-ftw runs `data` through Go's text/template with sprig. CRS uses literals piped to
    `repeat` (`{{ "1" | repeat 64200 }}`); that and plain string literals are evaluated here,
    anything else is refused rather than guessed."""
    if "{{" not in text:
        return text
    out, pos = [], 0
    for m in _TPL_ACTION.finditer(text):
        literal = text[pos:m.start()]
        if m.group(1):
            literal = literal.rstrip(" \t\r\n")
        if out and out[-1] is None:  # the previous action trimmed to its right
            out.pop()
            literal = literal.lstrip(" \t\r\n")
        out.append(literal)
        expr = m.group(2).strip()
        mm = re.fullmatch(rf"({_TPL_STRING})\s*\|\s*repeat\s+(\d+)", expr, re.S)
        mf = re.fullmatch(rf"repeat\s+(\d+)\s+({_TPL_STRING})", expr, re.S)
        ml = re.fullmatch(rf"({_TPL_STRING})", expr, re.S)
        if mm:
            out.append(_go_string(mm.group(1)) * int(mm.group(2)))
        elif mf:
            out.append(_go_string(mf.group(2)) * int(mf.group(1)))
        elif ml:
            out.append(_go_string(ml.group(1)))
        else:
            raise TestError(f"data template {{{{{expr}}}}} is beyond what run.py evaluates")
        if m.group(3):
            out.append(None)
        pos = m.end()
    tail = text[pos:]
    if out and out[-1] is None:
        out.pop()
        tail = tail.lstrip(" \t\r\n")
    out.append(tail)
    return "".join(out)


_TOKEN_BYTES = set(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def canonical_key(name):
    """textproto.CanonicalMIMEHeaderKey: names with a byte outside the token set stay as they are."""
    b = name.encode("utf-8")
    if not b or any(c not in _TOKEN_BYTES for c in b):
        return name
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


class Headers:
    """go-ftw's ftwhttp.Header: an ordered list, looked up by canonical name."""

    def __init__(self, entries=()):
        self.entries = list(entries)

    def has(self, name):
        key = canonical_key(name)
        return any(canonical_key(n) == key for n, _ in self.entries)

    def get_all(self, name):
        key = canonical_key(name)
        return [v for n, v in self.entries if canonical_key(n) == key]

    def add(self, name, value):
        self.entries.append((name, value))

    def set(self, name, value):
        key = canonical_key(name)
        self.entries = [(n, v) for n, v in self.entries if canonical_key(n) != key]
        self.entries.append((name, value))


def encode_data_parameters(headers, data):
    """encodeDataParameters: a form body of plain key=value pairs is URL-encoded pair by pair,
    unless it already looks escaped (unescaping would change it or fail: any '%' or '+')."""
    if not data or not any(v.lower() == "application/x-www-form-urlencoded"
                           for v in headers.get_all("Content-Type")):
        return data
    if b"%" in data or b"+" in data:
        return data
    tokens = data.split(b"&")
    if tokens and tokens[-1] == b"":
        tokens.pop()
    out = []
    for token in tokens:
        key, eq, value = token.partition(b"=")
        out.append(quote_plus(key, safe="") + ("=" + quote_plus(value, safe="") if eq else ""))
    return "&".join(out).encode("ascii")


_METHODS_WITH_BODY = re.compile(r"^POST|PUT|PATCH|DELETE$")  # go-ftw's regex, precedence and all


def get_data(inp):
    if inp.data is not None:
        return render_data_template(inp.data).encode("utf-8")
    if inp.encoded_data is not None:
        try:
            return base64.b64decode(inp.encoded_data)
        except ValueError:
            return None  # go-ftw logs and sends no body
    return None


def build_request(inp, extra_headers=()):
    """The bytes go-ftw sends for this input (encoded_request: its decoded bytes as they are)."""
    if inp.encoded_request:
        try:
            return base64.b64decode(inp.encoded_request)
        except ValueError as e:
            raise TestError(f"encoded_request is not base64: {e}") from None
    headers = Headers(inp.headers)
    for name, value in extra_headers:
        if not headers.has(name):
            headers.add(name, value)
    data = get_data(inp) or b""
    method = inp.get_method()
    if data and inp.autocomplete:
        if not headers.has("Content-Type"):
            headers.add("Content-Type", "application/x-www-form-urlencoded")
        data = encode_data_parameters(headers, data)
    if any("multipart/form-data;" in v.lower() for v in headers.get_all("Content-Type")):
        data = data.replace(b"\n", b"\r\n")  # also turns an existing CRLF into CR CR LF, as go-ftw
    if inp.autocomplete:
        if not headers.has("Connection"):
            headers.add("Connection", "close")
        if not headers.has("Content-Length") and (data or _METHODS_WITH_BODY.search(method)):
            headers.add("Content-Length", str(len(data)))
    head = f"{method} {inp.get_uri()} {inp.get_version()}\r\n"
    head += "".join(f"{n}: {v}\r\n" for n, v in headers.entries) + "\r\n"
    return head.encode("utf-8") + data


def marker_request(marker_id, host="localhost"):
    """go-ftw's buildMarkerRequest: GET /status/200 with the marker header, autocompleted."""
    return (f"GET /status/200 HTTP/1.1\r\nAccept: */*\r\nUser-Agent: go-ftw test agent\r\n"
            f"Host: {host}\r\n{MARKER_HEADER}: {marker_id}\r\nConnection: close\r\n\r\n").encode("utf-8")


# ---------------------------------------------------------------------------------------------
# One exchange on a new connection, read as Go's http.ReadResponse reads it.

class Response:
    def __init__(self):
        self.status = None
        self.headers = []  # [(name, value)]
        self.raw = b""
        self.error = None

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def text(self):
        return self.raw.decode("latin-1")


_STATUS_LINE = re.compile(rb"^HTTP/(\d+)\.(\d+) (\d{3})(?: .*)?$")


def exchange(port, data, connect_timeout, read_timeout):
    resp = Response()
    method = data.split(b" ", 1)[0].strip().upper()
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=connect_timeout)
    except OSError as e:
        resp.error = f"connect: {e}"
        return resp
    try:
        send_error = None
        try:
            sock.sendall(data)
        except OSError as e:
            send_error = e
        _read_response(sock, resp, method, read_timeout)
        if resp.error and send_error is not None:
            resp.error = f"send: {send_error}; then {resp.error}"
    finally:
        sock.close()
    return resp


def _read_response(sock, resp, method, read_timeout):
    deadline = time.monotonic() + read_timeout
    buf = b""

    def recv():
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout()
        sock.settimeout(left)
        return sock.recv(65536)

    # the head: status line and fields up to the empty line (LF alone is accepted, as Go does)
    try:
        while True:
            end = _head_end(buf)
            if end is not None:
                break
            chunk = recv()
            if not chunk:
                resp.raw = buf
                resp.error = "EOF before a response" if not buf else "unexpected EOF in the response head"
                return
            buf += chunk
    except socket.timeout:
        resp.raw = buf
        resp.error = f"read timeout ({read_timeout:g}s) waiting for the response head"
        return
    except OSError as e:
        resp.raw = buf
        resp.error = f"read: {e}"
        return
    head, rest = buf[:end], buf[end:]
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    m = _STATUS_LINE.match(lines[0])
    if not m:
        resp.raw = buf
        resp.error = f"malformed HTTP response {lines[0][:80]!r}"
        return
    resp.status = int(m.group(3))
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(b":")
        if not colon or line[:1] in (b" ", b"\t"):
            resp.raw = buf
            resp.error = f"malformed MIME header line: {line[:80]!r}"
            return
        resp.headers.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
    # the body (go-ftw does not wait for it, so nothing here is an error)
    deadline = time.monotonic() + read_timeout
    body = rest
    try:
        if method == b"HEAD" or resp.status < 200 or resp.status in (204, 304):
            pass
        elif "chunked" in (resp.header("Transfer-Encoding") or "").lower():
            while not _chunked_complete(body):
                chunk = recv()
                if not chunk:
                    break
                body += chunk
        elif resp.header("Content-Length") is not None and resp.header("Content-Length").isdigit():
            n = int(resp.header("Content-Length"))
            while len(body) < n:
                chunk = recv()
                if not chunk:
                    break
                body += chunk
        else:
            while True:
                chunk = recv()
                if not chunk:
                    break
                body += chunk
    except OSError:
        pass
    resp.raw = head + body


def _head_end(buf):
    i, j = buf.find(b"\r\n\r\n"), buf.find(b"\n\n")
    ends = [x + 4 for x in (i,) if x >= 0] + [x + 2 for x in (j,) if x >= 0]
    return min(ends) if ends else None


def _chunked_complete(body):
    pos = 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            return False
        try:
            size = int(body[pos:eol].split(b";")[0].strip() or b"x", 16)
        except ValueError:
            return True  # garbage: stop reading
        if size == 0:
            return body.find(b"\r\n\r\n", eol) >= 0 or body.endswith(b"0\r\n\r\n")
        pos = eol + 2 + size + 2
        if pos > len(body):
            return False


# ---------------------------------------------------------------------------------------------
# The audit log: one JSON object per line, tailed from where the last read stopped.

class AuditLog:
    def __init__(self, path):
        self.path = path
        self.fd = None
        self.offset = 0
        self.partial = b""

    def read_new(self):
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return []
        out = []
        while True:
            chunk = os.pread(self.fd, 1 << 20, self.offset)
            if not chunk:
                break
            self.offset += len(chunk)
            self.partial += chunk
        if b"\n" in self.partial:
            *lines, self.partial = self.partial.split(b"\n")
            out = [l.decode("utf-8", errors="replace") for l in lines if l.strip()]
        return out

    def close(self):
        if self.fd is not None:
            os.close(self.fd)


def parse_record(line):
    try:
        rec = json.loads(line)
        return rec if isinstance(rec, dict) else {"_unparsed": line}
    except ValueError:
        return {"_unparsed": line}


def record_ids(records):
    ids = set()
    for rec in records:
        for rule in rec.get("rules") or []:
            try:
                ids.add(int(rule.get("id")))
            except (TypeError, ValueError, AttributeError):
                pass
    return sorted(ids)


_KNOWN_RECORD_KEYS = {"time", "request_id", "client", "method", "uri", "status", "action",
                      "inbound_score", "outbound_score", "paranoia", "web_app_id", "components",
                      "rules"}


def _esc(v):
    """As ModSecurity escapes values in its log: quote and backslash, control bytes as \\xHH."""
    s = str("" if v is None else v).replace("\\", "\\\\").replace('"', '\\"')
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group(0)):02x}", s)


def record_lines(records):
    """The stage's records as ModSecurity error-log lines, one per rule, for match_regex and
    no_match_regex (written for lines like `[id "942100"] [msg "..."]`)."""
    lines = []
    for rec in records:
        if "_unparsed" in rec:
            lines.append(rec["_unparsed"])
            continue
        tail = (f'[hostname "localhost"] [uri "{_esc(rec.get("uri"))}"] '
                f'[unique_id "{_esc(rec.get("request_id"))}"]')
        for rule in rec.get("rules") or []:
            lines.append(
                f'[client {rec.get("client", "")}] ModSecurity: Warning. Matched "{_esc(rule.get("value"))}" '
                f'at {rule.get("var", "")}. [file "{_esc(rule.get("file"))}"] [line "{_esc(rule.get("line"))}"] '
                f'[id "{_esc(rule.get("id"))}"] [msg "{_esc(rule.get("msg"))}"] '
                f'[data "{_esc(rule.get("data"))}"] [severity "{_esc(rule.get("severity"))}"] {tail}')
        for key, value in rec.items():  # anything else the gate reports (engine errors, ...)
            if key in _KNOWN_RECORD_KEYS:
                continue
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, (str, int, float)):
                    lines.append(f"ModSecurity: {key}: {v} {tail}")
    return lines


# ---------------------------------------------------------------------------------------------
# The run.

class Abort(Exception):
    pass


class StageResult:
    def __init__(self, index):
        self.index = index
        self.passed = False
        self.reasons = []
        self.status = None
        self.error = None
        self.triggered = []
        self.records = []
        self.request = b""
        self.attempts = 1

    def to_json(self, with_records):
        out = {"stage": self.index + 1, "passed": self.passed, "reasons": self.reasons,
               "status": self.status, "error": self.error, "triggered": self.triggered,
               "attempts": self.attempts,
               "request": self.request[:2000].decode("latin-1")}
        if with_records:
            out["records"] = self.records
        return out


class Runner:
    def __init__(self, args, port, audit_path):
        self.args = args
        self.port = port
        self.log = AuditLog(audit_path) if audit_path else None
        self.pending = []  # audit lines read but not yet placed
        self.marker_failures = 0
        self.rampart = None

    # markers ---------------------------------------------------------------------------------
    def _send_marker(self, marker_id, host):
        resp = exchange(self.port, marker_request(marker_id, host), self.args.connect_timeout,
                        self.args.read_timeout)
        if resp.error:
            raise TestError(f"marker request failed: {resp.error}")

    def mark(self, marker_id, host, first):
        """Sends the marker request until its record shows up in the audit log (bounded);
        returns the lines logged before it since the last marker. `first`: the start marker
        (the last record carrying the id counts) or the end marker (the first one does)."""
        needle = marker_id.lower()
        attempts = max(1, self.args.marker_attempts)
        per_attempt = self.args.marker_timeout / attempts
        for _ in range(attempts):
            self._send_marker(marker_id, host)
            deadline = time.monotonic() + per_attempt
            pause = 0.0005
            while True:
                self.pending += self.log.read_new()
                hits = [i for i, l in enumerate(self.pending) if needle in l.lower()]
                if hits:
                    i = hits[-1] if first else hits[0]
                    before, self.pending = self.pending[:i], self.pending[i + 1:]
                    self.marker_failures = 0
                    return before
                if time.monotonic() > deadline:
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
            self._check_alive()
        self.marker_failures += 1
        if self.marker_failures >= 3:
            raise Abort(f"no marker record in {self.log.path} for 3 stages in a row: is the waf "
                        f"gate writing its audit log there, with ftw.conf's rule 999999 loaded?")
        raise TestError(f"marker {marker_id} not found in the audit log "
                        f"within {self.args.marker_timeout:g}s")

    def _check_alive(self):
        if self.rampart is not None and self.rampart.proc.poll() is not None:
            raise Abort(f"rampart exited with {self.rampart.proc.returncode}:\n"
                        + self.rampart.logs()[-4000:])

    # stages ----------------------------------------------------------------------------------
    def run_stage(self, test, stage, output, state):
        res = StageResult(stage.index)
        inp = stage.input
        try:
            if inp.data is not None and inp.encoded_request:
                raise TestError("'data' and 'encoded_request' must not be set simultaneously")
            if output.isolated and len(output.expect_ids) != 1:
                raise TestError("'isolated' is only valid if 'expect_ids' has exactly one entry")
            if inp.get_protocol().lower() != "http":
                raise TestError(f"protocol {inp.get_protocol()!r} is not supported (http only)")
            extra = []
            if inp.follow_redirect:
                inp = self._follow_redirect(inp, state)
            if inp.save_cookie and state.get("cookies"):
                extra.append(("Cookie", "; ".join(f"{k}={v}" for k, v in state["cookies"].items())))
            res.request = request = build_request(inp, extra)
            host = "localhost"
            if inp.virtual_host_mode:
                hosts = Headers(inp.headers).get_all("Host")
                host = hosts[0] if len(hosts) == 1 else host
            stage_id = f"{test.rule_id}-{test.test_id}-{uuid.uuid4()}"
            if self.log:
                self.mark(stage_id + "-s", host, first=True)
            resp = exchange(self.port, request, self.args.connect_timeout, self.args.read_timeout)
            lines = []
            if self.log:
                lines = self.mark(stage_id + "-e", host, first=False)
                lines = [l for l in lines if stage_id.lower() not in l.lower()]
            self._check_alive()
        except TestError as e:
            res.error = str(e)
            res.reasons.append(f"stage {stage.index + 1}: {e}")
            return res, None
        res.status, res.error = resp.status, resp.error
        res.records = [parse_record(l) for l in lines]
        res.triggered = record_ids(res.records)
        res.reasons = [f"stage {stage.index + 1}: {r}" for r in self.judge(output, resp, res)]
        res.passed = not res.reasons
        for value in [v for n, v in resp.headers if n.lower() == "set-cookie"]:
            k, _, rest = value.partition("=")
            state.setdefault("cookies", {})[k.strip()] = rest.split(";", 1)[0].strip()
        return res, (inp, resp)

    def _follow_redirect(self, inp, state):
        prev = state.get("last")
        if prev is None:
            raise TestError("follow_redirect: no previous stage response")
        pinp, presp = prev
        if presp.status not in (300, 301, 302, 303, 307, 308):
            raise TestError(f"follow_redirect: previous response status {presp.status} is not a redirect")
        location = presp.header("Location")
        if not location:
            raise TestError("follow_redirect: previous response has no Location header")
        default = (pinp.get_protocol(), pinp.get_port()) in (("http", 80), ("https", 443))
        base = f"{pinp.get_protocol()}://{pinp.get_dest_addr()}" + ("" if default else f":{pinp.get_port()}")
        url = urlsplit(urljoin(base + pinp.get_uri(), location))
        scheme = url.scheme or "http"
        port = url.port or (443 if scheme == "https" else 80)
        new = Input({}, "", [])
        new.__dict__.update(inp.__dict__)
        new.protocol, new.dest_addr, new.port = scheme, url.hostname, port
        new.uri = (url.path or "/") + (f"?{url.query}" if url.query else "")
        hdrs = Headers(inp.headers)
        default = (scheme, port) in (("http", 80), ("https", 443))
        hdrs.set("Host", url.hostname if default else f"{url.hostname}:{port}")
        new.headers = hdrs.entries
        return new

    def judge(self, out, resp, res):
        """go-ftw's checkResult, collecting every failed check instead of stopping at the first."""
        if out.expect_error:
            return [] if resp.error else [f"expected an error, got status {resp.status}"]
        if resp.error:
            return [f"unexpected error: {resp.error}"]
        reasons = []
        if out.status and resp.status not in out.status:
            want = out.status[0] if len(out.status) == 1 else out.status
            reasons.append(f"status {resp.status}, expected {want}")
        if out.response_contains:
            try:
                if not re.search(out.response_contains, resp.text(), re.ASCII):
                    reasons.append(f"response does not match {out.response_contains!r}")
            except re.error as e:
                reasons.append(f"response_contains is not a valid regex: {e}")
        if self.log is None and (out.expect_ids or out.match_regex or out.isolated):
            reasons.append("no audit log to check (--no-waf)")
            return reasons
        lines = record_lines(res.records) if (out.match_regex or out.no_match_regex) else []
        ids = res.triggered
        for label, pattern, want in (("match_regex", out.match_regex, True),
                                     ("no_match_regex", out.no_match_regex, False)):
            if not pattern:
                continue
            try:
                rx = re.compile(pattern.encode("utf-8"), re.ASCII)
                found = any(rx.search(l.encode("utf-8")) for l in lines)
            except re.error as e:
                reasons.append(f"{label} is not a valid regex: {e}")
                continue
            if found != want:
                reasons.append(f"{label} {pattern!r} {'not ' if want else ''}found in the log")
        missing = [i for i in out.expect_ids if i not in ids]
        if missing:
            reasons.append(f"expected ids {missing} missing; triggered {ids}")
        unwanted = [i for i in out.no_expect_ids if i in ids]
        if unwanted:
            reasons.append(f"unexpected ids {unwanted} triggered")
        if out.isolated and len(ids) != 1:
            reasons.append(f"isolated: triggered {ids}, expected only {out.expect_ids}")
        return reasons


def stage_output(test, stage, override):
    if override and override.has_output and (not override.stage_ids or stage.index in override.stage_ids):
        return override.output
    return stage.output


def run_tests(runner, tests, overrides, args):
    results = []
    for n, test in enumerate(tests, start=1):
        ov = next((o for o in overrides if o.applies(test)), None)
        entry = {"id": test.ident, "rule_id": test.rule_id, "test_id": test.test_id,
                 "file": os.path.relpath(test.path, ROOT) if test.path.startswith(ROOT) else test.path,
                 "rule_file": test.rule_file, "desc": test.desc.strip(),
                 "override": ov.reason if ov else None}
        if ov and ov.skip:
            entry.update(result="skipped", reasons=[f"skipped by override: {ov.reason}"], stages=[])
            results.append(entry)
            continue
        if not test.stages:
            entry.update(result="failed", reasons=["the test has no stages"], stages=[])
            results.append(entry)
            continue
        started = time.monotonic()
        state, stages = {}, []
        for stage in test.stages:
            out = stage_output(test, stage, ov)
            res, last = runner.run_stage(test, stage, out, state)
            if not res.passed and out.retry_once and res.error is None:
                res, last = runner.run_stage(test, stage, out, state)
                res.attempts = 2
            if last is not None:
                state["last"] = last
            stages.append(res)
        passed = all(s.passed for s in stages)
        entry.update(result="passed" if passed else "failed",
                     reasons=[r for s in stages for r in s.reasons],
                     seconds=round(time.monotonic() - started, 3),
                     stages=[s.to_json(args.json_records) for s in stages])
        results.append(entry)
        if not passed:
            print(f"FAIL {test.ident:<12} {test.rule_file}: " + " | ".join(entry["reasons"]), flush=True)
        elif args.verbose:
            print(f"ok   {test.ident:<12} {test.rule_file}", flush=True)
        if args.progress and n % 500 == 0:
            print(f"... {n}/{len(tests)} tests", file=sys.stderr, flush=True)
    return results


# ---------------------------------------------------------------------------------------------
# Setup: the origin and rampart.

class AlbedoOrigin:
    def __init__(self):
        self.port = harness.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "albedo.py"),
                                      "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_port(self.port, self.proc)

    def stop(self):
        harness.stop_process(self.proc)


def _yaml_str(s):
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def rampart_config(rules, mode, audit_log, waf):
    """A harness.Rampart config template: {port}, {admin}, {origin} and {log} are its to fill."""
    gates = ""
    if waf:
        gates = ("    gates:\n"
                 "      - waf:\n"
                 f"          rules: [{', '.join(_yaml_str(r) for r in rules)}]\n"
                 f"          mode: {mode}\n"
                 f"          audit_log: {_yaml_str(audit_log)}\n").replace("{", "{{").replace("}", "}}")
    return ("workers: 1\n"
            "listeners:\n"
            "  - name: crs\n"
            "    address: 127.0.0.1:{port}\n"
            "routes:\n"
            "  - name: crs\n"
            "    match: {{ path_prefix: / }}\n"
            "    upstream: origin\n"
            + gates +
            "upstreams:\n"
            "  origin:\n"
            "    endpoints: [{origin}]\n"
            "access_log: {{ path: {log} }}\n"
            "admin: {{ address: 127.0.0.1:{admin} }}\n")


def printable(data, limit):
    shown = data if limit <= 0 else data[:limit]
    out = []
    for line in shown.splitlines(keepends=True):
        esc = "".join(chr(c) if 0x20 <= c < 0x7f and c != 0x5c else
                      ("\\\\" if c == 0x5c else "\\r" if c == 13 else "\\n" if c == 10 else
                       "\\t" if c == 9 else f"\\x{c:02x}") for c in line)
        out.append("    " + esc)
    if limit > 0 and len(data) > limit:
        out.append(f"    ... ({len(data) - limit} more bytes)")
    return "\n".join(out)


def dry_run(tests, overrides, args):
    problems = 0
    stages = 0
    for test in tests:
        ov = next((o for o in overrides if o.applies(test)), None)
        print(f"== {test.ident}  {os.path.relpath(test.path)}  [{test.rule_file}]")
        if test.desc.strip():
            print(f"   {test.desc.strip().splitlines()[0]}")
        if ov:
            print(f"   override: {'skip' if ov.skip else 'output replaced'}: {ov.reason.splitlines()[0]}")
            if ov.skip:
                continue
        for stage in test.stages:
            stages += 1
            out = stage_output(test, stage, ov)
            try:
                data = build_request(stage.input)
                if stage.input.data is not None and stage.input.encoded_request:
                    raise TestError("'data' and 'encoded_request' must not be set simultaneously")
                if stage.input.follow_redirect:
                    print("   (follows the previous stage's redirect: URI and Host from its Location)")
                print(f"-- stage {stage.index + 1}: send {len(data)} bytes to 127.0.0.1:<rampart>"
                      + (" (encoded_request, as is)" if stage.input.encoded_request else ""))
                print(printable(data, 0 if args.verbose else 1500))
            except TestError as e:
                problems += 1
                print(f"-- stage {stage.index + 1}: CANNOT BUILD: {e}")
            print(f"   expect: {out.describe()}")
    print(f"\n{len(tests)} tests, {stages} stages; {problems} stages could not be built")
    return problems


def summarize(results):
    per_file = collections.OrderedDict()
    for r in sorted(results, key=lambda r: r["rule_file"]):
        f = per_file.setdefault(r["rule_file"], collections.Counter())
        f[r["result"]] += 1
    width = max([len(k) for k in per_file] + [5])
    print("\npass rate per rule file:")
    totals = collections.Counter()
    for name, c in per_file.items():
        ran = c["passed"] + c["failed"]
        totals.update(c)
        extra = f"  ({c['skipped']} skipped)" if c["skipped"] else ""
        print(f"  {name:<{width}}  {c['passed']:>4}/{ran:<4}{extra}")
    ran = totals["passed"] + totals["failed"]
    pct = 100.0 * totals["passed"] / ran if ran else 0.0
    print(f"  {'TOTAL':<{width}}  {totals['passed']:>4}/{ran:<4} ({pct:.1f}%)"
          + (f", {totals['skipped']} skipped by overrides" if totals["skipped"] else ""))
    return totals


def read_must_pass(path):
    ids = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                ids += line.replace(",", " ").split()
    return ids


def select(tests, args):
    """--rule and --test together: the tests of those rules and those tests; then --include and
    --exclude (regular expressions searched in "<rule>-<test>")."""
    try:
        rules = {int(x) for v in args.rule for x in v.replace(",", " ").split()}
    except ValueError:
        raise SystemExit(f"run.py: --rule takes rule ids: {args.rule}") from None
    wanted = {x for v in args.test for x in v.replace(",", " ").split()}
    inc = re.compile(args.include) if args.include else None
    exc = re.compile(args.exclude) if args.exclude else None
    out = []
    for t in tests:
        if (rules or wanted) and t.rule_id not in rules and t.ident not in wanted:
            continue
        if inc and not inc.search(t.ident):
            continue
        if exc and exc.search(t.ident):
            continue
        out.append(t)
    return out


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Run CRS regression tests (go-ftw YAML) against rampart's waf gate.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("paths", nargs="*", help=f"test files or directories (default: {DEFAULT_TESTS})")
    ap.add_argument("--rule", action="append", default=[], help="only these rule ids (repeatable, comma-separated)")
    ap.add_argument("--test", action="append", default=[], help="only these tests, e.g. 942100-3 (repeatable)")
    ap.add_argument("--include", help="regex on <rule>-<test> ids to include")
    ap.add_argument("--exclude", help="regex on <rule>-<test> ids to exclude")
    ap.add_argument("--overrides", default=DEFAULT_OVERRIDES, help="overrides file ('' for none)")
    ap.add_argument("--dry-run", action="store_true", help="parse the tests and print what would be sent")
    ap.add_argument("--no-waf", action="store_true",
                    help="run rampart without the waf gate (checks the HTTP exchange; log expectations fail)")
    ap.add_argument("--bin", default=os.environ.get("RAMPART_BIN", os.path.join(ROOT, "build", "release", "rampart")),
                    help="rampart binary ($RAMPART_BIN)")
    ap.add_argument("--rules", default=f"{FTW_CONF},crs",
                    help="comma-separated rule files for the waf gate, in order ('crs': the bundled CRS)")
    ap.add_argument("--mode", default="detect", choices=["detect", "block"], help="the waf gate's mode")
    ap.add_argument("--port", type=int, help="use a rampart already listening on this port (with --audit-log)")
    ap.add_argument("--audit-log", help="with --port: the audit log that rampart's waf gate writes")
    ap.add_argument("--connect-timeout", type=float, default=3.0, help="seconds (go-ftw: 3s)")
    ap.add_argument("--read-timeout", type=float, default=5.0,
                    help="seconds to wait for a response head (go-ftw's CLI default: 10s)")
    ap.add_argument("--marker-timeout", type=float, default=6.0,
                    help="seconds to wait for a marker's audit record, over all resends")
    ap.add_argument("--marker-attempts", type=int, default=3, help="marker requests sent before giving up")
    ap.add_argument("--min-pass", type=int, help="exit 1 when fewer tests pass")
    ap.add_argument("--must-pass", help="file of test ids (942100-3) or rule ids (942100) that must pass")
    ap.add_argument("--strict", action="store_true", help="exit 1 when any test fails")
    ap.add_argument("--json", help="write every result to this file")
    ap.add_argument("--json-records", action="store_true", help="include each stage's audit records in --json")
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing tests too (dry run: whole requests)")
    ap.add_argument("--progress", action="store_true", help="progress on stderr every 500 tests")
    ap.add_argument("--keep", action="store_true", help="keep rampart's folder (config, audit log, stderr)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = rule_file_names(os.environ.get("CRS_RULES", DEFAULT_CRS_RULES))
    files = find_test_files(args.paths or [DEFAULT_TESTS])
    tests, load_errors, warnings = load_tests(files, names)
    for path, err in load_errors:
        print(f"LOAD ERROR {path}: {err}", file=sys.stderr)
    for w in warnings if args.verbose else []:
        print(f"warning: {w}", file=sys.stderr)
    try:
        overrides = load_overrides(args.overrides)
    except (OSError, ValueError, yaml.YAMLError) as e:
        print(f"run.py: overrides: {e}", file=sys.stderr)
        return 2
    tests = select(tests, args)
    print(f"{len(files)} files, {len(tests)} tests selected, {len(overrides)} overrides"
          + (f", {len(load_errors)} files not loaded" if load_errors else "")
          + (f", {len(warnings)} warnings (-v shows them)" if warnings and not args.verbose else ""),
          flush=True)
    if args.dry_run:
        return 1 if dry_run(tests, overrides, args) or load_errors else 0

    origin = rampart = None
    keep_dir = None
    started = time.monotonic()
    try:
        if args.port:
            if not args.audit_log and not args.no_waf:
                print("run.py: --port needs --audit-log (or --no-waf)", file=sys.stderr)
                return 2
            runner = Runner(args, args.port, None if args.no_waf else args.audit_log)
        else:
            if not os.path.exists(args.bin):
                print(f"run.py: no rampart binary at {args.bin} (set RAMPART_BIN or --bin)", file=sys.stderr)
                return 2
            origin = AlbedoOrigin()
            audit_dir = keep_dir = tempfile.mkdtemp(prefix="rampart-crs-")
            audit = os.path.join(audit_dir, "audit.jsonl")
            rules = [os.path.abspath(r) if os.path.exists(r) else r for r in args.rules.split(",") if r]
            config = rampart_config(rules, args.mode, audit, not args.no_waf)
            try:
                rampart = harness.Rampart(config, origin, workers=1, binary=args.bin, config_dir=audit_dir)
            except RuntimeError as e:
                print(f"run.py: {e}", file=sys.stderr)
                return 2
            runner = Runner(args, rampart.port, None if args.no_waf else audit)
            runner.rampart = rampart
            print(f"rampart on 127.0.0.1:{rampart.port} ({'no waf' if args.no_waf else 'waf ' + args.mode}), "
                  f"albedo on {origin.address}, audit log {audit if not args.no_waf else '-'}", flush=True)
        try:
            results = run_tests(runner, tests, overrides, args)
        except Abort as e:
            print(f"run.py: aborted: {e}", file=sys.stderr)
            return 2
    finally:
        if rampart is not None:
            if args.keep:
                import shutil
                with open(os.path.join(keep_dir, "stderr.log"), "w") as f:
                    f.write(rampart.logs())
                if os.path.exists(rampart.log_path):
                    shutil.copy(rampart.log_path, os.path.join(keep_dir, "access.log"))
                print(f"kept: {keep_dir} (rampart.yaml, audit.jsonl, access.log, stderr.log)", file=sys.stderr)
            rampart.stop()
        if origin is not None:
            origin.stop()
        if keep_dir and not args.keep:
            import shutil
            shutil.rmtree(keep_dir, ignore_errors=True)

    totals = summarize(results)
    print(f"{time.monotonic() - started:.1f}s")
    rc = 0
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"totals": dict(totals), "load_errors": load_errors, "results": results}, f, indent=1)
    if args.min_pass is not None and totals["passed"] < args.min_pass:
        print(f"run.py: {totals['passed']} tests passed, fewer than --min-pass {args.min_pass}")
        rc = 1
    if args.must_pass:
        bad = []
        for want in read_must_pass(args.must_pass):
            hits = [r for r in results if r["id"] == want or str(r["rule_id"]) == want]
            if not hits:
                bad.append(f"{want} (not run)")
            bad += [r["id"] for r in hits if r["result"] == "failed"]
        if bad:
            print(f"run.py: must-pass tests failed: {', '.join(bad)}")
            rc = 1
    if args.strict and totals["failed"]:
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
