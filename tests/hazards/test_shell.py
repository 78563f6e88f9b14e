"""The shell analyser: IMDSv1 curl/wget calls, token-flow negatives, the fix round trip."""
# ruff: noqa: E501  (realistic script lines)

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imds_iac_checks.hazards import shell
from imds_iac_checks.model import METADATA_CALL
from tests.hazards.shell_helpers import apply, found, need_bash, nested, payload

TOKEN = (
    'TOKEN=$(curl -s -X PUT "http://169.254.169.254/latest/api/token" '
    '-H "X-aws-ec2-metadata-token-ttl-seconds: 21600")\n'
)

# (name, IMDSv1 script, expected URLs found). Every pattern has a token-flow twin below.
POSITIVE = [
    (
        "region-sed",
        "#!/bin/bash\nset -e\nREGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/availability-zone | sed 's/.$//')\necho $REGION\n",
        ["http://169.254.169.254/latest/meta-data/placement/availability-zone"],
    ),
    (
        "wget-instance-id",
        "#!/bin/bash\nINSTANCE_ID=$(wget -q -O - http://169.254.169.254/latest/meta-data/instance-id)\naws ec2 create-tags --resources $INSTANCE_ID --tags Key=a,Value=b\n",
        ["http://169.254.169.254/latest/meta-data/instance-id"],
    ),
    (
        "no-scheme-instance-data",
        "#!/bin/sh\nAZ=`curl -fsSL instance-data/latest/meta-data/placement/availability-zone`\n",
        ["instance-data/latest/meta-data/placement/availability-zone"],
    ),
    (
        "ipv6",
        "#!/bin/bash\ncurl -s --retry 3 'http://[fd00:ec2::254]/latest/meta-data/local-ipv4' > /tmp/ip\n",
        ["http://[fd00:ec2::254]/latest/meta-data/local-ipv4"],
    ),
    (
        "user-data-and-document",
        "#!/bin/bash\ncurl -f http://169.254.169.254/latest/user-data -o /tmp/ud\nDOC=$(curl --silent http://169.254.169.254/latest/dynamic/instance-identity/document)\n",
        [
            "http://169.254.169.254/latest/user-data",
            "http://169.254.169.254/latest/dynamic/instance-identity/document",
        ],
    ),
    (
        "codedeploy",
        "#!/bin/bash\nyum -y update\nyum install -y ruby wget\nREGION=$(curl -s http://169.254.169.254/latest/dynamic/instance-identity/document | grep region | awk -F\\\" '{print $4}')\ncd /home/ec2-user\nwget https://aws-codedeploy-$REGION.s3.$REGION.amazonaws.com/latest/install\nchmod +x ./install\n./install auto\n",
        ["http://169.254.169.254/latest/dynamic/instance-identity/document"],
    ),
    (
        "variable-url",
        '#!/bin/bash\nIMDS=http://169.254.169.254/latest\nMD="${IMDS}/meta-data"\nID=$(curl -s "$MD/instance-id")\n',
        ["http://169.254.169.254/latest/meta-data/instance-id"],
    ),
    (
        "variable-host",
        '#!/bin/bash\nHOST=169.254.169.254\nBASE="http://$HOST"\ncurl -s $BASE/latest/meta-data/ami-id\n',
        ["http://169.254.169.254/latest/meta-data/ami-id"],
    ),
    (
        "default-expansion",
        '#!/bin/bash\nEP=${IMDS_ENDPOINT:-http://169.254.169.254}\ncurl -s "$EP/latest/meta-data/instance-type"\n',
        ["http://169.254.169.254/latest/meta-data/instance-type"],
    ),
    (
        "function",
        '#!/bin/bash\nimds() { curl -s "http://169.254.169.254/latest/$1"; }\nAZ=$(imds meta-data/placement/availability-zone)\nID=$(imds meta-data/instance-id)\n',
        ["http://169.254.169.254/latest/meta-data/placement/availability-zone"],
    ),
    (
        "function-url-parameter",
        '#!/bin/bash\nget() {\n  curl -fsS --retry 5 "$1"\n}\nget http://169.254.169.254/latest/meta-data/iam/info\n',
        ["http://169.254.169.254/latest/meta-data/iam/info"],
    ),
    (
        "if-and-list",
        "#!/bin/bash\nif curl -sf http://169.254.169.254/latest/meta-data/ >/dev/null; then\n  echo on-ec2 && curl -s http://169.254.169.254/latest/meta-data/hostname | tee /etc/hostname\nfi\n",
        [
            "http://169.254.169.254/latest/meta-data/",
            "http://169.254.169.254/latest/meta-data/hostname",
        ],
    ),
    (
        "sudo-wget-flags",
        "#!/bin/bash\nsudo wget -qO- --tries=3 http://169.254.169.254/latest/meta-data/public-ipv4\n",
        ["http://169.254.169.254/latest/meta-data/public-ipv4"],
    ),
    (
        "iam-credentials",
        '#!/bin/bash\nROLE=$(curl -s http://169.254.169.254/latest/meta-data/iam/security-credentials/)\ncurl -s "http://169.254.169.254/latest/meta-data/iam/security-credentials/$ROLE" > /tmp/creds\n',
        [
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
            "http://169.254.169.254/latest/meta-data/iam/security-credentials/$ROLE",
        ],
    ),
]

# Token-flow twins: the same script as it should be written (no Found).
NEGATIVE = [
    (
        "region-sed",
        "#!/bin/bash\n"
        + TOKEN
        + "REGION=$(curl -s -H \"X-aws-ec2-metadata-token: $TOKEN\" http://169.254.169.254/latest/meta-data/placement/availability-zone | sed 's/.$//')\n",
    ),
    (
        "wget-instance-id",
        '#!/bin/bash\nTOKEN=$(wget -q -O - --method=PUT --header="X-aws-ec2-metadata-token-ttl-seconds: 300" http://169.254.169.254/latest/api/token)\nINSTANCE_ID=$(wget -q -O - --header="X-aws-ec2-metadata-token: $TOKEN" http://169.254.169.254/latest/meta-data/instance-id)\n',
    ),
    (
        "no-scheme-instance-data",
        '#!/bin/sh\nT=`curl -sX PUT instance-data/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60"`\nAZ=`curl -fsSL -H "X-aws-ec2-metadata-token: $T" instance-data/latest/meta-data/placement/availability-zone`\n',
    ),
    (
        "ipv6",
        "#!/bin/bash\nT=$(curl -s -X PUT 'http://[fd00:ec2::254]/latest/api/token' -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')\ncurl -s --retry 3 -H \"X-aws-ec2-metadata-token: $T\" 'http://[fd00:ec2::254]/latest/meta-data/local-ipv4'\n",
    ),
    (
        "header-variable",
        "#!/bin/bash\n"
        + TOKEN
        + 'HDR="X-aws-ec2-metadata-token: $TOKEN"\ncurl -f -H "$HDR" http://169.254.169.254/latest/user-data -o /tmp/ud\n',
    ),
    (
        "header-array",
        "#!/bin/bash\n"
        + TOKEN
        + 'ARGS=(-s -H "X-aws-ec2-metadata-token: $TOKEN")\ncurl "${ARGS[@]}" http://169.254.169.254/latest/dynamic/instance-identity/document\n',
    ),
    (
        "variable-url",
        '#!/bin/bash\nIMDS=http://169.254.169.254/latest\nTOKEN=$(curl -s --request PUT "$IMDS/api/token" --header "X-aws-ec2-metadata-token-ttl-seconds: 60")\nID=$(curl -s --header "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/instance-id")\n',
    ),
    (
        "function",
        '#!/bin/bash\nimds() {\n  local t\n  t=$(curl -s -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")\n  curl -s -H "X-aws-ec2-metadata-token: $t" "http://169.254.169.254/latest/$1"\n}\nAZ=$(imds meta-data/placement/availability-zone)\n',
    ),
    (
        "function-token-parameter",
        "#!/bin/bash\n"
        + TOKEN
        + 'get() { curl -s -H "$2" "http://169.254.169.254/latest/$1"; }\nget meta-data/ami-id "X-aws-ec2-metadata-token: $TOKEN"\n',
    ),
    (
        "ecs-task-metadata",
        '#!/bin/bash\ncurl -s http://169.254.170.2/v2/metadata\ncurl -s "$ECS_CONTAINER_METADATA_URI_V4/task"\n',
    ),
    (
        "not-imds",
        "#!/bin/bash\ncurl -fsSL https://get.docker.com | sh\nwget -q https://example.com/169.254.169.254.txt\ncurl --noproxy 169.254.169.254 https://example.com/\n",
    ),
    (
        "header-from-environment",
        '#!/bin/bash\ncurl -s -H "$IMDS_AUTH_HEADER" http://169.254.169.254/latest/meta-data/instance-id\n',
    ),
]


@pytest.mark.parametrize(("name", "text", "urls"), POSITIVE, ids=[p[0] for p in POSITIVE])
def test_positive(name: str, text: str, urls: list[str]) -> None:
    founds = found(shell, text)
    assert [dict(f.details)["url"] for f in founds] == urls
    for f in founds:
        assert f.kind == METADATA_CALL
        assert f.what.endswith("without a session token")
        assert text[f.start : f.end].split()[0] in ("curl", "wget", "sudo")


@pytest.mark.parametrize(("name", "text"), NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_token_flow_negative(name: str, text: str) -> None:
    assert found(shell, text) == []


def test_message() -> None:
    (f,) = found(shell, POSITIVE[0][1])
    assert f.what == (
        "curl GET http://169.254.169.254/latest/meta-data/placement/availability-zone "
        "without a session token"
    )
    assert dict(f.details)["tool"] == "curl"


def _round_trip(text: str) -> str:
    founds = found(shell, text)
    assert founds and all(f.edits for f in founds)
    fixed = apply(text, founds)
    if need_bash():
        assert shell.check_syntax(fixed) is None, fixed
    assert found(shell, fixed) == [], fixed
    assert apply(fixed, found(shell, fixed)) == fixed  # idempotent
    return fixed


@pytest.mark.parametrize(("name", "text", "urls"), POSITIVE, ids=[p[0] for p in POSITIVE])
def test_fix_round_trip(name: str, text: str, urls: list[str]) -> None:
    fixed = _round_trip(text)
    # Minimal: the original is the fixed text with the inserted runs taken out.
    founds = found(shell, text)
    inserted = sorted({e for f in founds for e in f.edits})
    rebuilt, at = [], 0
    shift = 0
    for start, _, new in inserted:
        rebuilt.append(fixed[at : start + shift])
        at = start + shift + len(new)
        shift += len(new)
    rebuilt.append(fixed[at:])
    assert "".join(rebuilt) == text
    assert fixed.count("/latest/api/token") == 1


def test_fix_one_token_line_shared() -> None:
    text = POSITIVE[4][1]
    founds = found(shell, text)
    assert len(founds) == 2
    assert founds[0].edits[0] == founds[1].edits[0]
    fixed = apply(text, founds)
    assert fixed == (
        "#!/bin/bash\n"
        + TOKEN
        + 'curl -H "X-aws-ec2-metadata-token: ${TOKEN}" -f http://169.254.169.254/latest/user-data -o /tmp/ud\n'
        'DOC=$(curl -H "X-aws-ec2-metadata-token: ${TOKEN}" --silent http://169.254.169.254/latest/dynamic/instance-identity/document)\n'
    )


def test_fix_wget_header() -> None:
    fixed = _round_trip(POSITIVE[1][1])
    assert 'wget --header="X-aws-ec2-metadata-token: ${TOKEN}" -q -O - http' in fixed


def test_fix_reuses_existing_token() -> None:
    text = (
        "#!/bin/bash\n"
        + TOKEN
        + "ID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id)\n"
    )
    fixed = _round_trip(text)
    assert fixed.count("api/token") == 1
    assert 'curl -H "X-aws-ec2-metadata-token: ${TOKEN}" -s' in fixed


def test_fix_name_taken() -> None:
    text = (
        "#!/bin/bash\nTOKEN=$(cat /etc/github-token)\n"
        "ID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id)\n"
    )
    fixed = _round_trip(text)
    assert "IMDS_TOKEN=$(curl -s -X PUT" in fixed
    assert '-H "X-aws-ec2-metadata-token: ${IMDS_TOKEN}"' in fixed


def test_fix_token_line_before_function_definition() -> None:
    text = POSITIVE[9][1]
    fixed = _round_trip(text)
    assert fixed.index("api/token") < fixed.index("imds() {")


def test_fix_keeps_indentation_and_comes_after_setup() -> None:
    text = "#!/bin/bash\nset -eux\n  # indented block\n  ID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id)\n"
    fixed = _round_trip(text)
    assert "\n  TOKEN=$(curl -s -X PUT" in fixed
    assert fixed.index("set -eux") < fixed.index("api/token")


def test_fix_statement_mid_line() -> None:
    text = 'echo "a\nb"; curl -s http://169.254.169.254/latest/meta-data/ami-id\n'
    fixed = _round_trip(text)
    assert fixed.startswith('echo "a\nb"; TOKEN=')


def test_backticks_in_double_quotes_no_fix() -> None:
    text = 'echo "`curl -s http://169.254.169.254/latest/meta-data/ami-id`"\n'
    (f,) = found(shell, text)
    assert f.edits == () and "backticks" in f.no_fix


def test_ec2_metadata_tools() -> None:
    text = "#!/bin/bash\nID=$(ec2-metadata -i | cut -d ' ' -f 2)\nAZ=$(ec2metadata --availability-zone)\n"
    first, second = found(shell, text)
    assert dict(first.details)["tool"] == "ec2-metadata" and "1.1" in first.what
    assert first.no_fix and not first.edits
    assert dict(second.details)["tool"] == "ec2metadata" and "0.32" in second.what
    # A script that neither names the service nor these tools has nothing.
    assert found(shell, "#!/bin/bash\necho ec2-utils\n") == []


def test_bash_c_string_nested_no_fix() -> None:
    text = "#!/bin/bash\nsu - ec2-user -c true\nbash -c 'curl -s http://169.254.169.254/latest/meta-data/ami-id > /tmp/ami'\n"
    assert found(shell, text) == []
    (inner,) = nested(shell, text)
    assert inner.language == "shell" and "bash -c" in inner.no_fix
    (f,) = found(shell, inner.text)  # analysed in turn
    assert inner.text[f.start : f.end].startswith("curl -s http://169.254.169.254")
    # the nested payload maps to the outer file
    assert inner.located(f.start, f.end) is not None


def test_heredoc_to_python_and_shell() -> None:
    text = (
        "#!/bin/bash\npython3 - <<'EOF'\nimport urllib.request\n"
        "print(urllib.request.urlopen('http://169.254.169.254/latest/meta-data/').read())\nEOF\n"
        "node <<EOF\nconsole.log(1)\nEOF\n"
        "cat > /usr/local/bin/az.sh <<'EOF'\n#!/bin/bash\ncurl -s http://169.254.169.254/latest/meta-data/placement/availability-zone\nEOF\n"
    )
    py, js, sh = nested(shell, text)
    assert py.language == "python" and py.text.startswith("import urllib.request\n")
    assert js.language == "javascript" and js.no_fix  # unquoted: the outer shell expands it
    assert sh.language == "" and not sh.no_fix
    (f,) = found(shell, sh.text)
    fixed_inner = apply(sh.text, [f])
    assert found(shell, fixed_inner) == []


def test_unquoted_heredoc_substitution_is_outer_call() -> None:
    text = (
        "#!/bin/bash\ncat > /etc/app.conf <<EOF\n"
        "region=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)\nEOF\n"
    )
    assert len(found(shell, text)) == 1
    _round_trip(text)
    assert nested(shell, text)[0].text.startswith("region=__")


def test_hole_host_not_judged_and_no_crash() -> None:
    text = '#!/bin/bash\ncurl -s "http://${var.host}/latest/meta-data/ami-id"\ncurl -s http://169.254.169.254/latest/meta-data/${var.key}\n'
    lo = text.index("${var.host}")
    lo2 = text.index("${var.key}")
    holes = ((lo, lo + len("${var.host}")), (lo2, lo2 + len("${var.key}")))
    founds = [f for f in shell.find(payload(text, holes=holes)) if hasattr(f, "kind")]
    (f,) = founds
    assert dict(f.details)["url"] == "http://169.254.169.254/latest/meta-data/${var.key}"


def test_non_ascii_offsets() -> None:
    text = "#!/bin/bash\necho 'héllo wörld ✓'\nID=$(curl -s http://169.254.169.254/latest/meta-data/instance-id)\n"
    (f,) = found(shell, text)
    assert text[f.start : f.end].startswith("curl -s http://")
    _round_trip(text)


FLAGS = [
    "-s",
    "-f",
    "-S",
    "-L",
    "--silent",
    "--retry 3",
    "-fsSL",
    "--max-time 5",
    "-o /tmp/out",
    "--connect-timeout 2",
    "-k",
]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(FLAGS), max_size=5), st.booleans(), st.booleans())
def test_random_flag_orders(flags: list[str], url_first: bool, with_token: bool) -> None:
    url = "http://169.254.169.254/latest/meta-data/instance-id"
    words = [url, *flags] if url_first else [*flags, url]
    if with_token:
        words.insert(len(words) // 2, '-H "X-aws-ec2-metadata-token: $TOKEN"')
    text = "#!/bin/bash\n" + (TOKEN if with_token else "") + "ID=$(curl " + " ".join(words) + ")\n"
    founds = found(shell, text)
    if with_token:
        assert founds == []
    else:
        (f,) = founds
        assert dict(f.details)["url"] == url
        fixed = apply(text, founds)
        assert found(shell, fixed) == []


# --- hostile inputs -----------------------------------------------------------------------


def test_hostile_deep_nesting() -> None:
    depth = 2000
    text = (
        "X=" + "$(" * depth + "curl http://169.254.169.254/latest/meta-data/" + ")" * depth + "\n"
    )
    start = time.perf_counter()
    founds = found(shell, text)
    assert time.perf_counter() - start < 10
    assert len(founds) == 1


def test_hostile_many_calls() -> None:
    text = "#!/bin/bash\n" + "curl -s http://169.254.169.254/latest/meta-data/ami-id\n" * 10000
    start = time.perf_counter()
    founds = found(shell, text)
    assert time.perf_counter() - start < 20
    assert len(founds) == 10000
    assert len({f.edits[0] for f in founds}) == 1  # one token line


def test_hostile_recursive_functions_and_variables() -> None:
    text = (
        '#!/bin/bash\nA="$B/x"\nB="$A/y"\nf() { g "$1"; curl -s "$1"; }\ng() { f "$1"; }\n'
        'f "http://169.254.169.254/latest/meta-data/ami-id"\n'
    )
    for i in range(200):
        text += f'V{i + 1}="$V{i}$V{i}"\n'
    text += 'V0=http://169.254.169.254/\ncurl -s "$V200"\n'
    start = time.perf_counter()
    founds = found(shell, text)
    assert time.perf_counter() - start < 10
    assert len(founds) == 1  # the call inside f; $V200 is too deep to follow


def test_hostile_huge_variable() -> None:
    big = "a" * 500_000
    text = (
        f'#!/bin/bash\nBIG="{big}"\nURL=http://169.254.169.254/latest\n'
        + 'curl -s "$URL/meta-data/$BIG"\n' * 50
    )
    start = time.perf_counter()
    founds = found(shell, text)
    assert time.perf_counter() - start < 10
    assert len(founds) == 50


def test_benchmark_one_megabyte() -> None:
    """Time to analyse a 1 MB realistic script (printed; bounded)."""
    block = (POSITIVE[5][1] + NEGATIVE[0][1] + POSITIVE[9][1]).replace("#!/bin/bash\n", "")
    text = "#!/bin/bash\n" + block * (1_000_000 // len(block))
    start = time.perf_counter()
    founds = found(shell, text)
    elapsed = time.perf_counter() - start
    print(f"\nshell analyser: {len(text) / 1e6:.2f} MB, {len(founds)} calls, {elapsed:.2f} s")
    assert founds and elapsed < 30
