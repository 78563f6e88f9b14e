"""Defects an independent review found in the code and script readers (issue 16):

1. hazards/code.py took quadratic time (a tree-sitter query compiled and run over the whole file
   once per call judged): 2,000 calls took 29 s, a 7.9 MB file did not finish;
2. scripts that are not UTF-8 were skipped in silence ("No findings", exit 0): a Latin-1 byte
   in a comment, a UTF-16 PowerShell script as Windows PowerShell saves it; a binary file that
   names the metadata service is now an error, not a pass;
3. a Dockerfile RUN in exec (JSON) form whose strings hold JSON escapes pointed at the whole
   instruction instead of the call.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from imds_iac_checks.cli import main
from imds_iac_checks.formats import scripts
from imds_iac_checks.formats.pieces import MAX_UNDECODABLE, file_text, whole_file
from imds_iac_checks.hazards import analyse
from imds_iac_checks.hazards.code import find
from imds_iac_checks.hazards.place import hazard
from imds_iac_checks.model import Payload, Span

IMDS = "http://169.254.169.254/latest/meta-data"


def check(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[str]]:
    status = main(["check", "--format", "concise", *map(str, paths)])
    out = capsys.readouterr()
    return status, (out.out + out.err).splitlines()


def findings(lines: list[str]) -> list[str]:
    return [line for line in lines if " IMDS007 " in line]


def assert_pieces_are_bytes(payload: Payload, data: bytes) -> None:
    """Every piece is exactly the bytes its span covers (invalid UTF-8 bytes count as one
    character each), with its lines and columns."""
    for piece in payload.pieces:
        span = piece.span
        text = payload.text[piece.start : piece.end]
        assert data[span.start_byte : span.end_byte] == text.encode(), piece
        before = data[: span.start_byte].decode("utf-8", "surrogateescape")
        assert span.line == before.count("\n") + 1, piece
        assert span.column == len(before) - before.rfind("\n"), piece


# --- 1. linear time in code.py -----------------------------------------------------------------


def _python_calls(count: int) -> str:
    line = f'x = requests.get("{IMDS}/instance-id")\n'
    return "import requests\n" + line * count


def test_twenty_thousand_python_calls_are_judged_in_linear_time() -> None:
    text = _python_calls(20_000)
    started = time.perf_counter()
    found = list(find(Payload(text, (), None, "source file", "python")))  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    # Every call is judged (no silent cap); before the fix 2,000 calls took ~29 s.
    assert len(found) == 20_000
    assert elapsed < 20, elapsed
    assert found[-1].start == text.rindex("requests.get")


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("javascript", f'x = fetch("{IMDS}/instance-id");\n'),
        ("go", f'func f{{}}() {{ r, _ := http.Get("{IMDS}/instance-id"); _ = r }}\n'),
        (
            "java",
            f'class C{{}} {{ void f() {{ var c = new URL("{IMDS}/x").openConnection(); }} }}\n',
        ),
    ],
)
def test_other_languages_are_linear_too(language: str, line: str) -> None:
    count = 5_000
    text = "".join(line.replace("{}", str(i)) for i in range(count))
    started = time.perf_counter()
    found = list(find(Payload(text, (), None, "source file", language)))  # type: ignore[arg-type]
    assert len(found) == count
    assert time.perf_counter() - started < 15


def test_a_header_set_on_the_request_still_passes_among_many_calls() -> None:
    """The indexed lookups keep the verdicts: the request variable that gets the header
    passes, the others (same name, other functions) are calls without a token."""
    block = (
        "def f{i}():\n"
        f'    req = urllib.request.Request("{IMDS}/instance-id")\n'
        "{header}"
        "    return urllib.request.urlopen(req)\n"
    )
    header = '    req.add_header("X-aws-ec2-metadata-token", token)\n'
    text = "import urllib.request\n" + "".join(
        block.format(i=i, header=header if i % 2 else "") for i in range(400)
    )
    found = list(find(Payload(text, (), None, "source file", "python")))  # type: ignore[arg-type]
    assert len(found) == 200
    assert all("def f" in text[: f.start] for f in found)


def test_a_large_python_file_is_scanned_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the CLI: the pieces of a large whole-file payload keep the placing of each
    finding linear too (the file is cut into pieces at line ends)."""
    path = tmp_path / "calls.py"
    path.write_text(_python_calls(20_000))
    started = time.perf_counter()
    status, lines = check(capsys, path)
    elapsed = time.perf_counter() - started
    assert status == 0
    assert len(findings(lines)) == 20_000
    assert findings(lines)[-1].startswith(f"{path}:20001:5: IMDS007 requests.get")
    assert elapsed < 30, elapsed


def test_a_large_file_is_cut_into_pieces_at_line_ends(tmp_path: Path) -> None:
    text = "# é\n" + "curl -s http://169.254.169.254/latest/meta-data/ami-id\n" * 5000
    data = text.encode()
    payload = whole_file("run.sh", data, text, "script", "shell")
    assert len(payload.pieces) > 2
    assert payload.text == text
    assert all(payload.text[p.end - 1] == "\n" for p in payload.pieces[:-1])
    assert_pieces_are_bytes(payload, data)


# --- 2. scripts that are not UTF-8 ---------------------------------------------------------------

LATIN1 = b"#!/bin/bash\n# caf\xe9\ncurl -s " + IMDS.encode() + b"/instance-id\n"


def test_a_script_with_a_latin1_byte_is_read_and_fixed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "a.sh"
    path.write_bytes(LATIN1)
    status, lines = check(capsys, path)
    assert status == 0  # a warning
    assert findings(lines) == [
        f"{path}:3:1: IMDS007 curl GET {IMDS}/instance-id without a session token: it fails on "
        "instances that require IMDSv2 (tokens); this script is tied to no instance in the "
        "files scanned"
    ]
    assert main(["fix", "--unsafe-fixes", str(path)]) == 0
    capsys.readouterr()
    fixed = path.read_bytes()
    assert fixed.startswith(b"#!/bin/bash\n# caf\xe9\nTOKEN=$(curl -s -X PUT ")
    assert b'curl -H "X-aws-ec2-metadata-token: ${TOKEN}" -s ' in fixed
    assert findings(check(capsys, path)[1]) == []


def test_undecodable_bytes_are_holes_and_the_rest_maps_to_its_bytes() -> None:
    data = b"echo \xff\xfe caf\xe9 h\xc3\xa9\n" + LATIN1 * 3
    text = file_text(data)
    assert text is not None
    payload = whole_file("a.sh", data, text, "script", "shell")
    assert payload.text.count("\ufffd") == 3 + 3
    assert "\udce9" not in payload.text and "héllo"[:2] in payload.text
    assert_pieces_are_bytes(payload, data)
    for at in (i for i, c in enumerate(payload.text) if c == "\ufffd"):
        assert not any(p.start <= at < p.end for p in payload.pieces)
    # a finding after the bad bytes is placed at its own line
    found = [f for _, f in analyse(payload)]
    spans = [hazard(payload, f).span for f in found]
    assert [s.line for s in spans] == [4, 7, 10]


def test_past_the_cap_of_undecodable_bytes_the_rest_is_read_as_one_hole() -> None:
    data = b"\xe9\n" * (MAX_UNDECODABLE + 10) + b"curl -s " + IMDS.encode() + b"/ami-id\n"
    text = file_text(data)
    assert text is not None
    payload = whole_file("a.sh", data, text, "script", "shell")
    assert len(payload.pieces) == MAX_UNDECODABLE - 1  # the "\\n" between bad bytes
    assert_pieces_are_bytes(payload, data)
    found = [f for _, f in analyse(payload)]
    assert len(found) == 1  # read all the same: never a silent pass
    assert hazard(payload, found[0]).span == payload.span


def test_a_utf16_powershell_script_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "boot.ps1"
    script = f"# boot\r\n$id = Invoke-RestMethod {IMDS}/instance-id\r\n"
    path.write_bytes(script.encode("utf-16"))  # with a BOM, as Windows PowerShell saves it
    status, lines = check(capsys, path)
    assert status == 0
    assert findings(lines) == [
        f"{path}:1:1: IMDS007 Invoke-RestMethod GET {IMDS}/instance-id without a session "
        "token: it fails on instances that require IMDSv2 (tokens); this script is tied to no "
        "instance in the files scanned (no automatic fix: the file is UTF-16: convert it to "
        "UTF-8 to have it fixed, or add the token request by hand)"
    ]
    payloads, errors = scripts.payloads("boot.ps1", path.read_bytes())
    assert errors == [] and payloads[0].pieces == ()
    assert payloads[0].span == Span("boot.ps1", 2, 2 + 12, 1, 1, 1, 7)
    found = [f for _, f in analyse(payloads[0])]
    placed = hazard(payloads[0], found[0])
    assert placed.edits == () and placed.no_fix.startswith("the file is UTF-16: convert it")


@pytest.mark.parametrize("encoding", ["utf-16-be", "utf-32"])
def test_other_wide_encodings_with_a_bom_are_read(encoding: str) -> None:
    script = f"curl -s {IMDS}/instance-id\n"
    data = ("\ufeff" + script).encode(encoding) if encoding != "utf-32" else script.encode(encoding)
    payloads, errors = scripts.payloads("run.sh", data)
    assert errors == [] and payloads[0].text == script
    assert len(list(analyse(payloads[0]))) == 1


def test_a_binary_file_that_names_the_metadata_service_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = tmp_path / "tool.sh"
    named.write_bytes(b"\x7fELF\x00\x00\x01" + IMDS.encode() + b"\x00")
    other = tmp_path / "blob.sh"
    other.write_bytes(b"\x7fELF\x00\x00\x01 nothing here\x00")
    status, lines = check(capsys, named, other)
    assert status == 2
    assert f"{named}: not a text file: not scanned" in lines
    assert not any(str(other) in line for line in lines)
    assert check(capsys, other)[0] == 0


def test_a_dockerfile_with_a_latin1_byte_is_read_and_placed() -> None:
    data = b"FROM x\n# caf\xe9\nRUN echo \xe9t\xe9 && curl -s " + IMDS.encode() + b"/ami-id\n"
    payloads, errors = scripts.payloads("Dockerfile", data)
    assert errors == [] and len(payloads) == 1
    assert_pieces_are_bytes(payloads[0], data)
    found = [f for _, f in analyse(payloads[0])]
    span = hazard(payloads[0], found[0]).span
    assert (span.line, span.column) == (3, 17)
    assert data[span.start_byte : span.end_byte].startswith(b"curl -s http")


# --- 3. Dockerfile exec form ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run", "column", "call"),
    [
        (f'RUN ["sh", "-c", "wget -qO- {IMDS}/instance-id"]', 19, "wget"),
        (f'RUN ["/usr/bin/curl", "-s", "{IMDS}/ami-id"]', 7, "/usr/bin/curl"),
        (f'RUN ["/bin/sh", "-c", "curl -s \\"{IMDS}/instance-id\\""]', 24, "curl"),
        (f'RUN ["sh", "-c", "echo hi\\nwget -qO- {IMDS}/instance-id"]', 28, "wget"),
    ],
)
def test_exec_form_runs_are_read_and_point_at_the_call(run: str, column: int, call: str) -> None:
    data = f"FROM alpine\n{run}\n".encode()
    payloads, errors = scripts.payloads("Dockerfile", data)
    assert errors == []
    found = [(inner, f) for inner, f in analyse(payloads[0])]
    assert len(found) == 1
    placed = hazard(*found[0])
    assert (placed.span.line, placed.span.column) == (2, column)
    assert data[placed.span.start_byte : placed.span.end_byte].startswith(call.encode())
    assert placed.edits == () and placed.no_fix
