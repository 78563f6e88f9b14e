"""Kubernetes manifests (issue 17, point 3): Karpenter ``EC2NodeClass`` (v1, v1beta1) and
``AWSNodeTemplate`` (v1alpha1), eksctl ``ClusterConfig`` node groups, in plain manifests,
multi-document streams and Helm chart templates. Karpenter's and eksctl's own defaults require
tokens, so only explicit weakening is a finding. The per-rule cases under ``tests/rules/`` pin
single findings; these tests pin the fixtures, defaults, Helm handling, fixes and suppressions."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest

from imds_iac_checks.formats import data, eksctl, gotemplate, kubernetes
from imds_iac_checks.model import REQUIRED, TOKENS, default_setting
from tests.conftest import FIXTURES, findings, write
from tests.expect import annotated_files, expected_in

ROOT = FIXTURES.parent


def _targets(text: str, name: str = "nodes.yaml"):
    found, errors = data.parse(name, text.encode())
    assert errors == []
    return {t.address: t for t in found}


def test_the_fixtures_get_exactly_their_annotated_findings(cli) -> None:
    run = cli("check", "--format", "json", "fixtures/kubernetes", cwd=ROOT)
    doc = run.json()
    assert doc["errors"] == []
    actual = Counter((f["path"], f["line"], f["rule_id"]) for f in doc["findings"])
    expected: Counter[tuple[str, int, str]] = Counter()
    for path in annotated_files(FIXTURES / "kubernetes"):
        for e in expected_in(path):
            expected[(path.relative_to(ROOT).as_posix(), e.line, e.rule)] += 1
    assert sum(expected.values()) == 9
    assert actual == expected


NODE_CLASSES = """\
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  amiSelectorTerms:
    - alias: al2023@latest
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: open
spec:
  metadataOptions:
    httpEndpoint: enabled
    httpTokens: optional
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: disabled
spec:
  metadataOptions:
    httpEndpoint: disabled
    httpTokens: optional
---
apiVersion: karpenter.k8s.aws/v1beta1
kind: EC2NodeClass
metadata:
  name: beta
spec:
  metadataOptions:
    httpEndpoint: enabled
"""


def test_karpenter_defaults_require_tokens_and_only_weakening_is_reported(
    cli, tmp_path: Path
) -> None:
    targets = _targets(NODE_CLASSES)
    assert sorted(targets) == [
        "EC2NodeClass/beta",
        "EC2NodeClass/default",
        "EC2NodeClass/disabled",
        "EC2NodeClass/open",
    ]
    default = targets["EC2NodeClass/default"]
    assert default.block_span is None and default.settings == {}
    assert default_setting(default, TOKENS) == REQUIRED
    beta = targets["EC2NodeClass/beta"]
    assert beta.spec is kubernetes.EC2_NODE_CLASS_V1BETA1
    assert beta.block_span is not None and TOKENS not in beta.settings
    assert default_setting(beta, TOKENS) == REQUIRED
    write(tmp_path, "nodes.yaml", NODE_CLASSES)
    run = cli("check", "--format", "json", "nodes.yaml", cwd=tmp_path)
    # the open class only: the default and the beta class get Karpenter's required tokens,
    # the disabled one has no endpoint
    assert findings(run) == [("IMDS002", "EC2NodeClass/open", 28)]


AWS_NODE_TEMPLATES = """\
apiVersion: karpenter.k8s.aws/v1alpha1
kind: AWSNodeTemplate
metadata:
  name: omitted
spec:
  subnetSelector:
    karpenter.sh/discovery: dev
---
apiVersion: karpenter.k8s.aws/v1alpha1
kind: AWSNodeTemplate
metadata:
  name: partial
spec:
  metadataOptions:
    httpPutResponseHopLimit: 2
"""


def test_aws_node_template_block_without_tokens_leaves_them_optional(cli, tmp_path: Path) -> None:
    targets = _targets(AWS_NODE_TEMPLATES)
    assert default_setting(targets["AWSNodeTemplate/omitted"], TOKENS) == REQUIRED
    assert default_setting(targets["AWSNodeTemplate/partial"], TOKENS) is None
    write(tmp_path, "templates.yaml", AWS_NODE_TEMPLATES)
    run = cli("check", "--format", "json", "templates.yaml", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS002", "AWSNodeTemplate/partial", 14),
        ("IMDS003", "AWSNodeTemplate/partial", 15),
    ]
    assert "leaves them optional" in run.json()["findings"][0]["message"]


def test_cheap_markers_keep_other_yaml_unparsed() -> None:
    assert not kubernetes.worth(b"apiVersion: apps/v1\nkind: Deployment\n")
    assert not kubernetes.worth(b"group: karpenter.k8s.aws\nkind: NodePool\n")
    assert kubernetes.worth(b"apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\n")
    assert not eksctl.worth(b"kind: ClusterConfig\n")
    assert eksctl.worth(b"apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n")
    # a NodePool names the group but is not a node class: parsed, nothing found
    found, errors = data.parse("pool.yaml", NODE_CLASSES.split("---")[0].encode())
    assert (found, errors) == ([], [])


CLUSTER = """\
apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata:
  name: dev
  region: us-west-2
nodeGroups:
  - name: default-imds
    instanceType: m5.large
  - name: imdsv1
    disableIMDSv1: false
  - name: no-pods
    disableIMDSv1: false
    disablePodIMDS: true
managedNodeGroups:
  - name: managed
    disableIMDSv1: "false"
  - name: from-template
    launchTemplate:
      id: lt-0123456789abcdef0
"""


def test_eksctl_node_groups(cli, tmp_path: Path) -> None:
    targets = _targets(CLUSTER, "cluster.yaml")
    assert sorted(targets) == [
        "ClusterConfig/dev/managedNodeGroups/from-template",
        "ClusterConfig/dev/managedNodeGroups/managed",
        "ClusterConfig/dev/nodeGroups/default-imds",
        "ClusterConfig/dev/nodeGroups/imdsv1",
        "ClusterConfig/dev/nodeGroups/no-pods",
    ]
    # disablePodIMDS: true makes eksctl require tokens whatever disableIMDSv1 says
    (pods,) = targets["ClusterConfig/dev/nodeGroups/no-pods"].settings[TOKENS]
    assert pods.value == REQUIRED and pods.expression == "disablePodIMDS: true"
    # the template's options decide: no eksctl default applies
    linked = targets["ClusterConfig/dev/managedNodeGroups/from-template"]
    assert linked.template_ref is not None and linked.spec.defaults == {}
    write(tmp_path, "cluster.yaml", CLUSTER)
    run = cli("check", "--format", "json", "cluster.yaml", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS002", "ClusterConfig/dev/nodeGroups/imdsv1", 10),
        ("IMDS004", "ClusterConfig/dev/managedNodeGroups/managed", 16),
        ("IMDS004", "ClusterConfig/dev/managedNodeGroups/from-template", 19),
    ]
    # eksctl's *bool rejects a string: the file does not load, and no fix writes another string
    (quoted,) = [f for f in run.json()["findings"] if f["line"] == 16]
    assert quoted["fixable"] is False
    assert 'disableIMDSv1 is "false", a string: eksctl reads only a boolean' in quoted["message"]
    fixed = cli("fix", "cluster.yaml", cwd=tmp_path)
    assert fixed.code == 0, fixed.out
    text = (tmp_path / "cluster.yaml").read_text()
    assert "  - name: imdsv1\n    disableIMDSv1: true\n" in text
    assert '    disableIMDSv1: "false"\n' in text  # left for a person to unquote
    assert "disablePodIMDS: true" in text and text.count("disableIMDSv1: false") == 1
    again = cli("fix", "cluster.yaml", cwd=tmp_path)
    assert "Nothing fixed" in again.out and (tmp_path / "cluster.yaml").read_text() == text


HELM = """\
{{- if .Values.nodeClass.create }}
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: {{ include "nodes.fullname" . }}
  labels:
    {{- include "nodes.labels" . | nindent 4 }}
spec:
  role: {{ .Values.nodeRole | quote }}
  metadataOptions:
    httpEndpoint: enabled
    {{- if .Values.strict }}
    httpTokens: required
    {{- else }}
    httpTokens: optional # imds-iac: ignore[IMDS002] the batch agents still call IMDSv1
    {{- end }}
    httpPutResponseHopLimit: {{ .Values.hopLimit }}
{{- end }}
"""


def test_helm_template_literals_are_judged_and_actions_are_unknown(cli, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    write(chart, "Chart.yaml", "apiVersion: v2\nname: nodes\nversion: 0.1.0\n")
    path = write(chart / "templates", "nodeclass.yaml", HELM)
    (target,) = _targets(HELM, "chart/templates/nodeclass.yaml").values()
    assert target.only_when == "{{ if .Values.nodeClass.create }} holds"
    assert target.address == 'EC2NodeClass/{{ include "nodes.fullname" . }}'
    required, optional = target.settings[TOKENS]
    assert (required.value, required.condition) == (REQUIRED, "{{ if .Values.strict }} holds")
    assert optional.condition == "{{ if .Values.strict }} does not hold"
    run = cli("check", "--format", "json", "chart", cwd=tmp_path)
    doc = run.json()
    assert doc["errors"] == []
    got = [(f["rule_id"], f["line"], f["suppressed"] is not None) for f in doc["findings"]]
    assert sorted(got) == [("IMDS002", 15, True), ("IMDS004", 17, False)]
    (unknown,) = [f for f in doc["findings"] if f["rule_id"] == "IMDS004"]
    assert "{{ .Values.hopLimit }}" in unknown["message"]
    assert "exists only when {{ if .Values.nodeClass.create }} holds" in unknown["message"]
    before = path.read_text()
    cli("fix", "chart", cwd=tmp_path)
    assert path.read_text() == before  # the suppressed one is accepted, the unknown not guessed


def test_helm_template_fix_keeps_actions_and_comments(cli, tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    shutil.copytree(FIXTURES / "kubernetes" / "helm-chart", chart)
    path = chart / "templates" / "ec2nodeclass.yaml"
    before = path.read_text()
    run = cli("fix", "chart", cwd=tmp_path)
    assert "httpPutResponseHopLimit 3 -> 1" in run.out
    after = path.read_text()
    assert after == before.replace(
        "httpPutResponseHopLimit: 3 # imds-expect", "httpPutResponseHopLimit: 1 # imds-expect"
    )
    assert "Nothing fixed" in cli("fix", "chart", cwd=tmp_path).out
    assert path.read_text() == after


def test_fix_in_a_later_document_of_a_stream(cli, tmp_path: Path) -> None:
    write(tmp_path, "nodes.yaml", NODE_CLASSES)
    run = cli("fix", "nodes.yaml", cwd=tmp_path)
    assert "httpTokens optional -> required" in run.out
    text = (tmp_path / "nodes.yaml").read_text()
    assert text == NODE_CLASSES.replace(
        "    httpEndpoint: enabled\n    httpTokens: optional\n",
        "    httpEndpoint: enabled\n    httpTokens: required\n",
    )
    assert findings(cli("check", "--format", "json", "nodes.yaml", cwd=tmp_path)) == []


def test_added_key_goes_into_the_metadata_options_block(cli, tmp_path: Path) -> None:
    write(tmp_path, "templates.yaml", AWS_NODE_TEMPLATES)
    cli("fix", "templates.yaml", cwd=tmp_path)
    text = (tmp_path / "templates.yaml").read_text()
    assert text.endswith(
        "  metadataOptions:\n    httpTokens: required\n    httpPutResponseHopLimit: 1\n"
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (
            "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata:\n  name: a\n"
            "spec:\n  metadataOptions:\n    httpTokens: optional\n    httpTokens: required\n",
            "duplicate key 'httpTokens'",
        ),
        (
            "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nspec: [\n",
            "invalid YAML",
        ),
    ],
)
def test_unreadable_node_classes_are_errors(text: str, why: str) -> None:
    found, errors = data.parse("bad.yaml", text.encode())
    assert found == []
    assert len(errors) == 1 and why in errors[0].message


def test_spec_written_by_a_template_is_unknown(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "templates/nodeclass.yaml",
        """\
        apiVersion: karpenter.k8s.aws/v1
        kind: EC2NodeClass
        metadata:
          name: from-values
        spec:
          role: {{ .Values.role }}
          kubelet:
            {{- toYaml .Values.kubelet | nindent 4 }}
          {{- toYaml .Values.extraSpec | nindent 2 }}
        """,
    )
    run = cli("check", "--format", "json", "templates", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    # kubelet's own action writes kubelet's value; the one at spec's level may write anything
    assert (finding["rule_id"], finding["line"]) == ("IMDS004", 9)
    assert "metadataOptions may be written by the template action" in finding["message"]


def test_blanking_keeps_offsets_and_marks_control_lines() -> None:
    found = gotemplate.actions(HELM)
    blanked = gotemplate.blank(HELM, found)
    assert len(blanked) == len(HELM)
    assert [len(line) for line in blanked.splitlines()] == [len(line) for line in HELM.splitlines()]
    assert blanked.splitlines()[0].strip() == ""  # {{- if }} alone: blanks
    assert "name: xxxx" in blanked  # an inline value: a plain word
    words = [a.word for a in found if a.silent]
    assert words == ["if", "if", "else", "end", "end"]
    # a `}}` inside a quoted string does not close the action
    (one,) = gotemplate.actions('a: {{ printf "}}" }}\n')
    assert one.body == 'printf "}}"'


def test_every_kind_is_in_the_rule_catalog() -> None:
    from imds_iac_checks import catalog

    rules = catalog.load()
    for kinds in (kubernetes.KINDS, eksctl.KINDS):
        for kind in kinds:
            assert kind in rules["IMDS002"]["applies_to"]
    assert "EC2NodeClass" in rules["IMDS003"]["applies_to"]
    assert "ClusterConfig.managedNodeGroups" in rules["IMDS004"]["applies_to"]


def test_a_templated_api_version_is_still_a_node_class(cli, tmp_path: Path) -> None:
    # Charts that let values choose the API version (v1beta1 or v1): the kind decides, and the
    # block written by values is unknown
    write(
        tmp_path,
        "chart/templates/ec2nodeclass.yaml",
        """\
        {{- range $spec := .Values.nodeClasses }}
        ---
        apiVersion: {{ $.Values.global.apiVersion.EC2NodeClass }}
        kind: EC2NodeClass
        metadata:
          name: {{ $spec.name }}
        spec:
        {{- if $spec.spec.Role }}
          role: {{ $spec.spec.Role }}
        {{- end }}
        {{- if $spec.spec.MetadataOptions }}
          metadataOptions:
        {{ toYaml $spec.spec.MetadataOptions | indent 4 }}
        {{- end }}
        {{ end }}
        """,
    )
    run = cli("check", "--format", "json", "chart", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert (finding["rule_id"], finding["line"], finding["resource"]) == (
        "IMDS004",
        13,
        "EC2NodeClass/{{ $spec.name }}",
    )
    assert "exists only when {{ range $spec := . }}" not in finding["message"]
    assert "{{ range $spec := .Values.nodeClasses }} has items" in finding["message"]


def test_a_suppression_comment_after_a_helm_action(cli, tmp_path: Path) -> None:
    text = """\
    apiVersion: karpenter.k8s.aws/v1
    kind: EC2NodeClass
    metadata:
      name: {{ .Values.name }}
    spec:
      {{- with .Values.imds }}
      metadataOptions:
        {{- toYaml . | nindent 4 }} # imds-iac: ignore[IMDS004] set per cluster in values-prod.yaml
      {{- end }}
    """
    write(tmp_path, "chart/templates/nodeclass.yaml", text)
    run = cli("check", "--format", "json", "chart", cwd=tmp_path)
    (finding,) = run.json()["findings"]
    assert finding["rule_id"] == "IMDS004" and finding["line"] == 8
    assert finding["suppressed"] == "imds-iac: ignore: set per cluster in values-prod.yaml"
    assert run.code == 0
    # without the comment it is reported
    write(tmp_path, "chart/templates/nodeclass.yaml", text.split(" # imds-iac")[0] + "\n")
    assert [
        f["suppressed"]
        for f in cli("check", "--format", "json", "chart", cwd=tmp_path).json()["findings"]
    ] == [None]


def test_an_unreadable_template_that_only_refers_to_a_node_class_is_no_error() -> None:
    # A NodePool template names EC2NodeClass in its nodeClassRef: whether it parses is not ours
    pool = (
        "apiVersion: karpenter.sh/v1\nkind: NodePool\nspec:\n  template:\n    spec:\n"
        "      nodeClassRef:\n        group: karpenter.k8s.aws\n        kind: EC2NodeClass\n"
        "        name: {{ .Values.nodeClass }}\n  limits: {{ toYaml .Values.limits }\n"
        "  disruption: [\n"
    )
    assert data.parse("templates/nodepool.yaml", pool.encode()) == ([], [])
    broken = pool.replace("kind: NodePool", "kind: EC2NodeClass", 1)
    found, errors = data.parse("templates/nodeclass.yaml", broken.encode())
    assert found == [] and len(errors) == 1
    assert errors[0].message.startswith("invalid YAML (Go template actions blanked)")


@pytest.mark.parametrize(
    "written",
    ["metadataOptions: {{ toYaml .Values.imds }}", "metadataOptions: required"],
)
def test_an_options_block_that_is_no_mapping_is_unknown(written: str) -> None:
    text = (
        "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata:\n  name: a\n"
        f"spec:\n  {written}\n"
    )
    (target,) = _targets(text, "templates/nodeclass.yaml").values()
    assert target.unknown_block is not None and not target.unknown_block.known
    assert target.unknown_block.expression == written.split(": ", 1)[1]


# --- regressions from the review of 2026-12-02 --------------------------------------------------


def _chart(tmp_path: Path, template: str) -> Path:
    chart = tmp_path / "chart"
    write(chart, "Chart.yaml", "apiVersion: v2\nname: karpenter-nodes\nversion: 0.1.0\n")
    return write(chart / "templates", "nodetemplate.yaml", template)


STRICT_ONLY = """\
apiVersion: karpenter.k8s.aws/v1alpha1
kind: AWSNodeTemplate
metadata:
  name: default
spec:
  subnetSelector:
    karpenter.sh/discovery: {{ .Values.clusterName }}
  metadataOptions:
    httpEndpoint: enabled
    {{- if .Values.strict }}
    httpTokens: required
    {{- end }}
"""


def test_a_key_written_only_under_if_is_not_set_otherwise(cli, tmp_path: Path) -> None:
    # v1alpha1: a metadataOptions block without httpTokens leaves tokens optional, so the
    # rendering with strict false is a finding, at the {{ if }} that leaves it out
    path = _chart(tmp_path, STRICT_ONLY)
    (target,) = _targets(STRICT_ONLY, "chart/templates/nodetemplate.yaml").values()
    required, missing = target.settings[TOKENS]
    assert (required.value, required.condition) == (REQUIRED, "{{ if .Values.strict }} holds")
    assert (missing.value, missing.condition) == (None, "{{ if .Values.strict }} does not hold")
    run = cli("check", "--format", "json", "chart", cwd=tmp_path)
    (found,) = run.json()["findings"]
    assert (found["rule_id"], found["line"], found["column"]) == ("IMDS002", 10, 5)
    assert "httpTokens is not set (when {{ if .Values.strict }} does not hold)" in found["message"]
    assert found["fixable"] is False
    before = path.read_text()
    fixed = cli("fix", "chart", cwd=tmp_path)
    assert "written only in some branches" in fixed.out
    assert path.read_text() == before


@pytest.mark.parametrize(
    "branches",
    [
        # both branches write it: always rendered
        "    {{- if .Values.strict }}\n    httpTokens: required\n    {{- else }}\n"
        "    httpTokens: required\n    {{- end }}\n",
        "    {{- if .Values.a }}\n    httpTokens: required\n    {{- else if .Values.b }}\n"
        "    httpTokens: required\n    {{- else }}\n    httpTokens: required\n    {{- end }}\n",
        # written outside the conditional too (the other one is a duplicate only when rendered)
        "    httpTokens: required\n    {{- if .Values.ipv6 }}\n    httpProtocolIPv6: enabled\n"
        "    {{- end }}\n",
    ],
)
def test_a_key_written_in_every_branch_is_always_set(branches: str) -> None:
    text = STRICT_ONLY.split("    {{- if")[0] + branches
    (target,) = _targets(text, "chart/templates/nodetemplate.yaml").values()
    assert all(v.value == REQUIRED for v in target.settings[TOKENS])


def test_a_key_under_if_keeps_the_v1_default_otherwise() -> None:
    # EC2NodeClass v1 defaults httpTokens to required when it is not written: no alternative
    text = STRICT_ONLY.replace("karpenter.k8s.aws/v1alpha1", "karpenter.k8s.aws/v1").replace(
        "AWSNodeTemplate", "EC2NodeClass"
    )
    (target,) = _targets(text, "chart/templates/nodeclass.yaml").values()
    (only,) = target.settings[TOKENS]
    assert only.value == REQUIRED


def test_an_endpoint_disabled_only_under_if_may_be_enabled(cli, tmp_path: Path) -> None:
    text = STRICT_ONLY.replace(
        "    httpEndpoint: enabled\n    {{- if .Values.strict }}\n    httpTokens: required\n",
        "    {{- if .Values.offline }}\n    httpEndpoint: disabled\n",
    )
    _chart(tmp_path, text)
    run = cli("check", "--format", "json", "chart", cwd=tmp_path)
    assert [(f["rule_id"], f["line"]) for f in run.json()["findings"]] == [("IMDS002", 8)]


IPV6_FIRST = """\
apiVersion: karpenter.k8s.aws/v1alpha1
kind: AWSNodeTemplate
metadata:
  name: default
spec:
  metadataOptions:
    {{- if .Values.ipv6 }}
    httpProtocolIPv6: enabled
    {{- end }}
    httpEndpoint: enabled
"""


def test_an_added_key_goes_outside_the_conditional_it_would_land_in(cli, tmp_path: Path) -> None:
    path = _chart(tmp_path, IPV6_FIRST)
    run = cli("fix", "chart", cwd=tmp_path)
    assert 'added httpTokens = "required"' in run.out
    assert path.read_text() == IPV6_FIRST.replace(
        "  metadataOptions:\n", "  metadataOptions:\n    httpTokens: required\n"
    )
    assert findings(cli("check", "--format", "json", "chart", cwd=tmp_path)) == []


MERGED = """\
apiVersion: eksctl.io/v1alpha5
kind: ClusterConfig
metadata: {name: c, region: eu-west-1}
nodeGroups:
  - &ng
    name: ng-a
    instanceType: m5.large
    disableIMDSv1: false
  - <<: *ng
    name: ng-b
  - <<: *ng
    name: ng-c
    disableIMDSv1: true
"""


def test_yaml_merge_keys_are_applied(cli, tmp_path: Path) -> None:
    targets = _targets(MERGED, "cluster.yaml")
    assert sorted(targets) == [
        "ClusterConfig/c/nodeGroups/ng-a",
        "ClusterConfig/c/nodeGroups/ng-b",
        "ClusterConfig/c/nodeGroups/ng-c",
    ]
    (merged,) = targets["ClusterConfig/c/nodeGroups/ng-b"].settings[TOKENS]
    assert merged.value == "optional" and merged.span.line == 8  # the anchor's definition
    (own,) = targets["ClusterConfig/c/nodeGroups/ng-c"].settings[TOKENS]
    assert own.value == REQUIRED  # its own key wins over the merged one
    write(tmp_path, "cluster.yaml", MERGED)
    run = cli("check", "--format", "json", "cluster.yaml", cwd=tmp_path)
    got = {(f["resource"], f["line"], f["fix"]) for f in run.json()["findings"]}
    assert got == {
        ("ClusterConfig/c/nodeGroups/ng-a", 8, "safe"),
        ("ClusterConfig/c/nodeGroups/ng-b", 8, "unsafe"),  # shared with every merge
    }


def test_merge_keys_in_a_node_class(cli, tmp_path: Path) -> None:
    text = """\
apiVersion: v1
kind: List
items:
  - apiVersion: karpenter.k8s.aws/v1
    kind: EC2NodeClass
    metadata:
      name: base
    spec:
      role: KarpenterNodeRole
      metadataOptions: &imds
        httpEndpoint: enabled
        httpTokens: optional
  - apiVersion: karpenter.k8s.aws/v1
    kind: EC2NodeClass
    metadata:
      name: gpu
    spec:
      role: KarpenterNodeRole
      metadataOptions:
        <<: *imds
        httpPutResponseHopLimit: 1
"""
    targets = _targets(text)
    (merged,) = targets["EC2NodeClass/gpu"].settings[TOKENS]
    assert merged.value == "optional" and merged.span.line == 12
    write(tmp_path, "nodeclasses.yaml", text)
    run = cli("check", "--format", "json", "nodeclasses.yaml", cwd=tmp_path)
    got = {(f["resource"], f["line"], f["fix"]) for f in run.json()["findings"]}
    assert got == {("EC2NodeClass/base", 12, "safe"), ("EC2NodeClass/gpu", 12, "unsafe")}


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        # Terraform templatefile() and envsubst fill these in before the file is applied
        (
            "httpTokens: ${http_tokens}",
            "httpTokens could not be evaluated statically: ${http_tokens}",
        ),
        (
            "httpPutResponseHopLimit: ${hop_limit}",
            "httpPutResponseHopLimit could not be evaluated statically: ${hop_limit}",
        ),
        (
            'httpTokens: "%{ if strict }required%{ else }optional%{ endif }"',
            "httpTokens could not be evaluated statically",
        ),
    ],
)
def test_template_placeholders_are_unknown(
    cli, tmp_path: Path, written: str, expected: str
) -> None:
    text = (
        "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata:\n"
        "  name: ${cluster_name}-default\nspec:\n  role: ${node_role}\n  metadataOptions:\n"
        f"    httpEndpoint: enabled\n    {written}\n"
    )
    path = write(tmp_path / "templates", "ec2nodeclass.yaml.tftpl.yaml", text)
    run = cli("check", "--format", "json", "templates", cwd=tmp_path)
    (found,) = run.json()["findings"]
    assert (found["rule_id"], found["line"], found["fixable"]) == ("IMDS004", 9, False)
    assert expected in found["message"]
    cli("fix", "templates", cwd=tmp_path)
    assert path.read_text() == text


def test_an_envsubst_placeholder_in_eksctl_is_never_fixed(cli, tmp_path: Path) -> None:
    text = MERGED.split("  - &ng")[0] + "  - name: ng-a\n    disableIMDSv1: ${DISABLE_IMDSV1}\n"
    path = write(tmp_path, "cluster.yaml", text)
    run = cli("check", "--format", "json", "cluster.yaml", cwd=tmp_path)
    assert findings(run) == [("IMDS004", "ClusterConfig/c/nodeGroups/ng-a", 6)]
    cli("fix", "cluster.yaml", cwd=tmp_path)
    assert path.read_text() == text


def test_helm_comment_actions_write_nothing(cli, tmp_path: Path) -> None:
    text = STRICT_ONLY.replace(
        "    {{- if .Values.strict }}\n    httpTokens: required\n    {{- end }}\n",
        "    httpTokens: optional{{/* legacy agents */}}\n"
        "    httpPutResponseHopLimit: 3 {{- /* pods */}}\n",
    )
    _chart(tmp_path, text)
    run = cli("check", "--format", "json", "chart", cwd=tmp_path)
    assert findings(run) == [
        ("IMDS002", "AWSNodeTemplate/default", 10),
        ("IMDS003", "AWSNodeTemplate/default", 11),
    ]
    fixed = cli("fix", "chart", cwd=tmp_path)
    assert "Fixed 2 findings" in fixed.out
    after = (tmp_path / "chart" / "templates" / "nodetemplate.yaml").read_text()
    assert "httpTokens: required{{/* legacy agents */}}\n" in after
    assert "httpPutResponseHopLimit: 1 {{- /* pods */}}\n" in after


def test_a_multi_line_action_is_one_unknown_value(cli, tmp_path: Path) -> None:
    text = STRICT_ONLY.replace(
        "    {{- if .Values.strict }}\n    httpTokens: required\n    {{- end }}\n",
        '    httpTokens: {{ .Values.tokens\n      | default "required" }}\n'
        "    httpPutResponseHopLimit: 1\n",
    )
    _chart(tmp_path, text)
    run = cli("check", "--format", "json", "chart", cwd=tmp_path)
    doc = run.json()
    assert doc["errors"] == []
    (found,) = doc["findings"]
    assert (found["rule_id"], found["line"], found["column"]) == ("IMDS004", 10, 17)
    assert '{{ .Values.tokens | default "required" }}' in found["message"]
