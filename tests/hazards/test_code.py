# ruff: noqa: E501, E101  (realistic snippets: long lines, Go's tab indentation)
"""IMDSv1 calls in Python, JavaScript, Go and Java source (hazards/code.py): every call pattern
has a positive (a real-world shaped snippet that calls IMDSv1) and a token-flow negative (the
same call sending the session token)."""

from __future__ import annotations

import textwrap
import time

import pytest

from imds_iac_checks.hazards import analyse, code
from imds_iac_checks.model import METADATA_CALL, Found, Payload, Piece, Span


def payload(language: str, source: str) -> Payload:
    text = textwrap.dedent(source)
    size = len(text.encode())
    span = Span("src", 0, size, 1, 1, 1, 1)
    return Payload(text, (Piece(0, len(text), span),), span, "script", language)


def found(language: str, source: str) -> list[Found]:
    return [f for _, f in analyse(payload(language, source))]


# (language, positive source, the call text reported, tool, url, negative source)
CASES = [
    pytest.param(
        "python",
        """
        import requests
        role = requests.get("http://169.254.169.254/latest/meta-data/iam/security-credentials/").text
        """,
        'requests.get("http://169.254.169.254/latest/meta-data/iam/security-credentials/")',
        "requests.get",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        """
        import requests
        token = requests.put(
            "http://169.254.169.254/latest/api/token",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
        ).text
        role = requests.get(
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            headers={"X-aws-ec2-metadata-token": token},
        ).text
        """,
        id="python-requests",
    ),
    pytest.param(
        "python",
        """
        import requests
        IMDS = "http://169.254.169.254/latest/"
        def credentials(role):
            return requests.request("GET", f"{IMDS}meta-data/iam/security-credentials/{role}").json()
        """,
        'requests.request("GET", f"{IMDS}meta-data/iam/security-credentials/{role}")',
        "requests.request",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/…",
        """
        import requests
        IMDS = "http://169.254.169.254/latest/"
        HEADERS = {"X-aws-ec2-metadata-token": open("/run/imds-token").read()}
        def credentials(role):
            return requests.request("GET", f"{IMDS}meta-data/iam/security-credentials/{role}", headers=HEADERS).json()
        """,
        id="python-requests-fstring-constant",
    ),
    pytest.param(
        "python",
        """
        import urllib.request
        def instance_id():
            url = "http://169.254.169.254/latest/meta-data/instance-id"
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        """,
        "urllib.request.urlopen(url, timeout=2)",
        "urllib.request.urlopen",
        "http://169.254.169.254/latest/meta-data/instance-id",
        """
        import urllib.request
        def instance_id(token):
            req = urllib.request.Request("http://169.254.169.254/latest/meta-data/instance-id")
            req.add_header("X-aws-ec2-metadata-token", token)
            with urllib.request.urlopen(req, timeout=2) as response:
                return response.read().decode()
        """,
        id="python-urlopen",
    ),
    pytest.param(
        "python",
        """
        import urllib.request
        def region():
            req = urllib.request.Request("http://169.254.169.254/latest/meta-data/placement/region")
            return urllib.request.urlopen(req).read()
        """,
        "urllib.request.urlopen(req)",
        "urllib.request.urlopen",
        "http://169.254.169.254/latest/meta-data/placement/region",
        """
        import urllib.request
        def region(token):
            req = urllib.request.Request(
                "http://169.254.169.254/latest/meta-data/placement/region",
                headers={"X-aws-ec2-metadata-token": token},
            )
            return urllib.request.urlopen(req).read()
        """,
        id="python-urllib-request",
    ),
    pytest.param(
        "python",
        """
        import urllib2
        print(urllib2.urlopen("http://instance-data/latest/meta-data/local-ipv4").read())
        """,
        'urllib2.urlopen("http://instance-data/latest/meta-data/local-ipv4")',
        "urllib2.urlopen",
        "http://instance-data/latest/meta-data/local-ipv4",
        """
        import urllib2
        token = urllib2.urlopen(urllib2.Request("http://instance-data/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})).read()
        req = urllib2.Request("http://instance-data/latest/meta-data/local-ipv4", headers={"X-aws-ec2-metadata-token": token})
        print(urllib2.urlopen(req).read())
        """,
        id="python-urllib2",
    ),
    pytest.param(
        "python",
        """
        import http.client
        conn = http.client.HTTPConnection("169.254.169.254", 80, timeout=2)
        conn.request("GET", "/latest/meta-data/instance-id")
        print(conn.getresponse().read())
        """,
        'conn.request("GET", "/latest/meta-data/instance-id")',
        "conn.request",
        "http://169.254.169.254/latest/meta-data/instance-id",
        """
        import http.client
        conn = http.client.HTTPConnection("169.254.169.254", 80, timeout=2)
        conn.request("PUT", "/latest/api/token", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        token = conn.getresponse().read().decode()
        conn.request("GET", "/latest/meta-data/instance-id", headers={"X-aws-ec2-metadata-token": token})
        print(conn.getresponse().read())
        """,
        id="python-http-client",
    ),
    pytest.param(
        "python",
        """
        import httpx
        doc = httpx.get("http://[fd00:ec2::254]/latest/dynamic/instance-identity/document").json()
        """,
        'httpx.get("http://[fd00:ec2::254]/latest/dynamic/instance-identity/document")',
        "httpx.get",
        "http://[fd00:ec2::254]/latest/dynamic/instance-identity/document",
        """
        import httpx
        def token_headers():
            return {"X-aws-ec2-metadata-token": httpx.put("http://[fd00:ec2::254]/latest/api/token").text}
        doc = httpx.get("http://[fd00:ec2::254]/latest/dynamic/instance-identity/document", headers=token_headers()).json()
        """,
        id="python-httpx-helper",
    ),
    pytest.param(
        "javascript",
        """
        const http = require('http');
        http.get('http://169.254.169.254/latest/meta-data/instance-id', (res) => {
          res.on('data', (chunk) => process.stdout.write(chunk));
        });
        """,
        "http.get('http://169.254.169.254/latest/meta-data/instance-id', (res) => {\n"
        "  res.on('data', (chunk) => process.stdout.write(chunk));\n})",
        "http.get",
        "http://169.254.169.254/latest/meta-data/instance-id",
        """
        const http = require('http');
        http.get('http://169.254.169.254/latest/meta-data/instance-id',
          { headers: { 'X-aws-ec2-metadata-token': process.env.IMDS_TOKEN } }, (res) => {
          res.on('data', (chunk) => process.stdout.write(chunk));
        });
        """,
        id="node-http-get",
    ),
    pytest.param(
        "javascript",
        """
        async function region() {
          const base = 'http://169.254.169.254/latest';
          const res = await fetch(`${base}/meta-data/placement/region`);
          return res.text();
        }
        """,
        "fetch(`${base}/meta-data/placement/region`)",
        "fetch",
        "http://169.254.169.254/latest/meta-data/placement/region",
        """
        async function region() {
          const base = 'http://169.254.169.254/latest';
          const token = await (await fetch(`${base}/api/token`, {
            method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '21600' } })).text();
          const headers = { 'X-aws-ec2-metadata-token': token };
          const res = await fetch(`${base}/meta-data/placement/region`, { headers });
          return res.text();
        }
        """,
        id="node-fetch-template",
    ),
    pytest.param(
        "javascript",
        """
        const axios = require('axios');
        axios.get('http://169.254.169.254/latest/meta-data/iam/info').then((r) => console.log(r.data));
        """,
        "axios.get('http://169.254.169.254/latest/meta-data/iam/info')",
        "axios.get",
        "http://169.254.169.254/latest/meta-data/iam/info",
        """
        const axios = require('axios');
        const opts = { headers: { 'X-aws-ec2-metadata-token': token }, timeout: 1000 };
        axios.get('http://169.254.169.254/latest/meta-data/iam/info', opts).then((r) => console.log(r.data));
        """,
        id="node-axios",
    ),
    pytest.param(
        "javascript",
        """
        const request = require('request');
        request({ url: 'http://169.254.169.254/latest/user-data' }, (err, res, body) => {});
        """,
        "request({ url: 'http://169.254.169.254/latest/user-data' }, (err, res, body) => {})",
        "request",
        "http://169.254.169.254/latest/user-data",
        """
        const request = require('request');
        request({ url: 'http://169.254.169.254/latest/user-data',
                  headers: { 'X-aws-ec2-metadata-token': token } }, (err, res, body) => {});
        """,
        id="node-request",
    ),
    pytest.param(
        "go",
        """
        package main

        import "net/http"

        const metadata = "http://169.254.169.254/latest/meta-data/"

        func instanceID() (*http.Response, error) {
        	return http.Get(metadata + "instance-id")
        }
        """,
        'http.Get(metadata + "instance-id")',
        "http.Get",
        "http://169.254.169.254/latest/meta-data/instance-id",
        """
        package main

        import "net/http"

        const metadata = "http://169.254.169.254/latest/api/token"

        func token() (*http.Response, error) {
        	return http.Get(metadata)
        }
        """,
        id="go-http-get",
    ),
    pytest.param(
        "go",
        """
        package main

        import ("fmt"; "net/http")

        func credentials(role string) (*http.Response, error) {
        	req, err := http.NewRequest("GET", fmt.Sprintf("http://169.254.169.254/latest/meta-data/iam/security-credentials/%s", role), nil)
        	if err != nil {
        		return nil, err
        	}
        	return http.DefaultClient.Do(req)
        }
        """,
        'http.NewRequest("GET", fmt.Sprintf("http://169.254.169.254/latest/meta-data/iam/security-credentials/%s", role), nil)',
        "http.NewRequest",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/…",
        """
        package main

        import ("fmt"; "net/http")

        const tokenHeader = "X-aws-ec2-metadata-token"

        func credentials(role, token string) (*http.Response, error) {
        	req, err := http.NewRequest("GET", fmt.Sprintf("http://169.254.169.254/latest/meta-data/iam/security-credentials/%s", role), nil)
        	if err != nil {
        		return nil, err
        	}
        	req.Header.Set(tokenHeader, token)
        	return http.DefaultClient.Do(req)
        }
        """,
        id="go-newrequest",
    ),
    pytest.param(
        "java",
        """
        class Metadata {
            static final String IMDS = "http://169.254.169.254/latest/meta-data/";
            String instanceId() throws IOException {
                HttpURLConnection conn = (HttpURLConnection) new URL(IMDS + "instance-id").openConnection();
                conn.setRequestMethod("GET");
                return read(conn.getInputStream());
            }
        }
        """,
        'new URL(IMDS + "instance-id").openConnection()',
        "URL.openConnection",
        "http://169.254.169.254/latest/meta-data/instance-id",
        """
        class Metadata {
            static final String IMDS = "http://169.254.169.254/latest/meta-data/";
            String instanceId(String token) throws IOException {
                HttpURLConnection conn = (HttpURLConnection) new URL(IMDS + "instance-id").openConnection();
                conn.setRequestMethod("GET");
                conn.setRequestProperty("X-aws-ec2-metadata-token", token);
                return read(conn.getInputStream());
            }
        }
        """,
        id="java-url-openconnection",
    ),
    pytest.param(
        "java",
        """
        class Metadata {
            String region(HttpClient client) throws Exception {
                HttpRequest request = HttpRequest.newBuilder(URI.create("http://169.254.169.254/latest/meta-data/placement/region")).GET().build();
                return client.send(request, HttpResponse.BodyHandlers.ofString()).body();
            }
        }
        """,
        'HttpRequest.newBuilder(URI.create("http://169.254.169.254/latest/meta-data/placement/region"))',
        "HttpRequest.newBuilder",
        "http://169.254.169.254/latest/meta-data/placement/region",
        """
        class Metadata {
            String region(HttpClient client, String token) throws Exception {
                HttpRequest request = HttpRequest.newBuilder(URI.create("http://169.254.169.254/latest/meta-data/placement/region"))
                    .header("X-aws-ec2-metadata-token", token)
                    .GET().build();
                return client.send(request, HttpResponse.BodyHandlers.ofString()).body();
            }
        }
        """,
        id="java-httpclient",
    ),
]


@pytest.mark.parametrize(("language", "positive", "call", "tool", "url", "negative"), CASES)
def test_call_and_its_token_flow(
    language: str, positive: str, call: str, tool: str, url: str, negative: str
) -> None:
    text = textwrap.dedent(positive)
    hits = found(language, positive)
    assert len(hits) == 1, hits
    hit = hits[0]
    assert hit.kind == METADATA_CALL
    assert text[hit.start : hit.end] == call
    assert hit.what == f"{tool} {url} without a session token"
    assert dict(hit.details) == {"tool": tool, "url": url}
    assert hit.edits == () and "X-aws-ec2-metadata-token" in hit.no_fix
    assert found(language, negative) == []


def test_ecs_task_metadata_is_not_imds() -> None:
    assert (
        found("python", 'import requests\nrequests.get("http://169.254.170.2/v2/metadata")\n') == []
    )
    assert found("javascript", "fetch(process.env.ECS_CONTAINER_METADATA_URI_V4 + '/task')\n") == []


def test_a_url_that_is_not_literal_is_not_a_finding() -> None:
    # the host comes from a variable the file never assigns: nothing to say
    assert (
        found("python", "import requests\nrequests.get(f'http://{host}/latest/meta-data/')\n") == []
    )
    # a host that merely starts like the metadata address
    assert found("go", 'package m\nfunc f() { http.Get("http://169.254.169.2540/x") }\n') == []


def test_the_header_set_on_another_request_does_not_pass_this_one() -> None:
    hits = found(
        "python",
        """
        import http.client
        conn = http.client.HTTPConnection("169.254.169.254")
        conn.request("GET", "/latest/meta-data/ami-id", headers={"X-aws-ec2-metadata-token": t})
        conn.request("GET", "/latest/meta-data/instance-id")
        """,
    )
    assert [dict(h.details)["url"] for h in hits] == [
        "http://169.254.169.254/latest/meta-data/instance-id"
    ]


def test_offsets_are_characters_in_non_ascii_source() -> None:
    source = '# Région: « métadonnées »\nimport requests\nr = requests.get("http://169.254.169.254/latest/meta-data/")\n'
    (hit,) = found("python", source)
    assert source[hit.start : hit.end] == 'requests.get("http://169.254.169.254/latest/meta-data/")'


def test_typescript_reads_as_javascript() -> None:
    p = payload(
        "typescript",
        "const r: Response = await fetch('http://169.254.169.254/latest/meta-data/');\n",
    )
    assert [f.kind for f in code.find(p)] == [METADATA_CALL]


def test_a_file_that_never_names_imds_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(code, "_File", None)  # would raise if used
    assert list(code.find(payload("python", "import requests\nrequests.get(URL)\n"))) == []


def test_large_file_is_bounded() -> None:
    """A 1 MB Python file with an IMDS call at its end: read in well under the budget."""
    block = "def f{n}(x):\n    y = requests.get('https://example.com/' + x, headers={{'a': 'b'}})\n    return y\n"
    body = "".join(block.format(n=n) for n in range(1_000_000 // len(block)))
    body += 'v = requests.get("http://169.254.169.254/latest/meta-data/")\n'
    started = time.perf_counter()
    hits = found("python", body)
    elapsed = time.perf_counter() - started
    assert len(hits) == 1
    assert elapsed < 20, elapsed
