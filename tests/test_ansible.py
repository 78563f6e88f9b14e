"""Ansible tasks that launch EC2 instances (issue 17): ``amazon.aws.ec2_instance`` and
``ec2_launch_template`` ``metadata_options`` in playbooks and roles, with the modules' defaults,
Jinja variables followed to the play's and role's vars, the fix (verified, a second run a no-op,
comments kept), suppressions on the task's line, and the IMDSv1 calls of the same playbook.
The per-rule cases ``tests/rules/IMDS00*/ansible-*`` pin the findings rule by rule."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from imds_iac_checks.formats import ansible, playbooks
from tests.conftest import FIXTURES, write
from tests.test_fixtures import expected_findings

ROOT = FIXTURES.parent


def _lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if ": IMDS" in line]


def _scan(cli, root: Path, *args: str) -> dict:
    run = cli("check", "--format", "json", *args, ".", cwd=root)
    doc = run.json()
    assert doc["errors"] == [], doc["errors"]
    return doc


def test_the_fixtures_get_exactly_their_expected_findings(cli) -> None:
    doc = cli("check", "--format", "json", "fixtures/ansible", cwd=ROOT).json()
    assert doc["errors"] == []
    actual = Counter((f["path"], f["line"], f["rule_id"]) for f in doc["findings"])
    expected, _ = expected_findings(FIXTURES / "ansible")
    assert actual == expected
    assert {f["kind"] for f in doc["findings"]} == {"amazon.aws.ec2_instance"}
    # The launch template (tokens required) and the instance launched from it: no finding;
    # stopping and terminating instances: no target.
    assert doc["summary"]["targets"] == 8


def test_messages_say_where_a_value_comes_from_and_the_modules_default(cli) -> None:
    run = cli("check", "--format", "concise", "fixtures/ansible/launch.yml", cwd=ROOT)
    lines = _lines(run.out)
    play = '[play "Launch web servers" / task '
    assert lines[0] == (
        f'fixtures/ansible/launch.yml:7:18: IMDS002 {play}"start an instance whose tokens come '
        f'from the play\'s vars"] http_tokens is "optional" (imds_tokens in the vars of play '
        '"Launch web servers", via {{ imds_tokens }} at line 49); set it to "required"'
    )
    # No metadata_options: the module sends none (its suboption defaults are not sent).
    assert lines[1].endswith(
        "no metadata_options, so IMDSv1 stays allowed (amazon.aws.ec2_instance sends no "
        "MetadataOptions without it: the AMI's or the account's default applies); add one with "
        'http_tokens set to "required"'
    )
    assert lines[3].startswith(f"fixtures/ansible/launch.yml:39:9: IMDS002 {play}")
    assert "metadata_options does not set http_tokens, so IMDSv1 stays allowed" in lines[3]
    assert lines[5].endswith(
        "http_tokens could not be evaluated statically: "
        "\"{{ tokens_from_inventory | default('optional') }}\""
    )


def test_role_variables_are_followed_to_defaults_and_vars(cli) -> None:
    run = cli("check", "--format", "concise", "fixtures/ansible/roles", cwd=ROOT)
    assert _lines(run.out)[0] == (
        'fixtures/ansible/roles/web/defaults/main.yml:7:18: IMDS002 [task "Launch the web '
        'tier"] http_tokens is "optional" (default of web_http_tokens, via '
        "{{ web_http_tokens }} at fixtures/ansible/roles/web/tasks/main.yml:10); set it to "
        '"required" (the resource exists only when web_launch | bool)'
    )
    assert "web_hop_limit in the vars of role web" in _lines(run.out)[1]


def test_fix_edits_the_arguments_and_the_variables_and_a_second_run_is_a_no_op(
    cli, tmp_path: Path
) -> None:
    root = tmp_path / "ansible"
    shutil.copytree(FIXTURES / "ansible", root)
    before = (root / "launch.yml").read_text()
    run = cli("fix", "--unsafe-fixes", ".", cwd=root)
    assert "Fixed 7 findings in 3 files; 1 finding left." in run.out, run.out
    after = (root / "launch.yml").read_text()
    # The block goes under the module's key (its arguments), not into the task.
    assert (
        "      amazon.aws.ec2_instance:  # imds-expect: IMDS001\n"
        "        metadata_options:\n"
        "          http_endpoint: enabled\n"
        "          http_tokens: required\n"
        "          http_put_response_hop_limit: 1\n"
        '        name: "public-compute-instance"\n'
    ) in after
    assert "    imds_tokens: required  # imds-expect: IMDS002\n" in after
    assert (
        "        metadata_options:  # imds-expect: IMDS002\n"
        "          http_tokens: required\n"
        "          http_endpoint: enabled\n"
        "          http_put_response_hop_limit: 1  # imds-expect: IMDS003\n"
    ) in after
    # Minimal edits: every line of the original is still there but the ones changed.
    changed = {
        "    imds_tokens: optional",
        "          http_tokens: optional",
        "          http_put_response_hop_limit: 3",
    }
    kept = [line for line in before.splitlines() if line.split("  #")[0] not in changed]
    assert all(line in after.splitlines() for line in kept)
    assert "web_http_tokens: required" in (root / "roles/web/defaults/main.yml").read_text()
    assert "web_hop_limit: 1" in (root / "roles/web/vars/main.yml").read_text()
    doc = _scan(cli, root)
    assert [f["rule_id"] for f in doc["findings"]] == ["IMDS004"]
    again = cli("fix", "--unsafe-fixes", ".", cwd=root)
    assert "Nothing fixed" in again.out
    assert (root / "launch.yml").read_text() == after


def test_module_names_and_ways_of_writing_arguments(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "site.yml",
        """
        - name: Launch
          hosts: localhost
          tasks:
            - name: short name
              ec2_instance:
                image_id: ami-123456
                metadata_options:
                  http_tokens: optional
            - name: redirected name
              community.aws.ec2_instance:
                image_id: ami-123456
                metadata_options: {http_endpoint: enabled, http_tokens: optional}
            - name: local action
              local_action:
                module: amazon.aws.ec2_instance
                image_id: ami-123456
            - name: args
              amazon.aws.ec2_instance:
              args:
                image_id: ami-123456
                metadata_options:
                  http_tokens: required
            - name: free form
              amazon.aws.ec2_instance: image_id=ami-123456 instance_type=t3.micro
            - name: free form options
              amazon.aws.ec2_instance: image_id=ami-1 metadata_options={{ options }}
            - name: templated block
              amazon.aws.ec2_instance:
                image_id: ami-123456
                metadata_options: "{{ imds }}"
            - name: empty block
              amazon.aws.ec2_instance:
                image_id: ami-123456
                metadata_options:
            - name: short template
              ec2_launch_template:
                template_name: workers
        """,
    )
    doc = _scan(cli, tmp_path)
    got = [(f["rule_id"], f["resource"], f["line"], f["fixable"]) for f in doc["findings"]]
    task = 'play "Launch" / task '
    assert got == [
        ("IMDS002", task + '"short name"', 8, True),
        ("IMDS002", task + '"redirected name"', 12, True),
        ("IMDS001", task + '"local action"', 14, True),
        # key=value text: no mapping to add the block to (the message says so)
        ("IMDS001", task + '"free form"', 24, False),
        ("IMDS004", task + '"free form options"', 26, False),
        ("IMDS004", task + '"templated block"', 30, False),
        ("IMDS001", task + '"empty block"', 32, True),
        ("IMDS001", task + '"short template"', 36, True),
    ]
    assert doc["summary"]["targets"] == 9
    kinds = {f["resource"]: f["kind"] for f in doc["findings"]}
    assert kinds[task + '"short template"'] == "amazon.aws.ec2_launch_template"
    free = next(f for f in doc["findings"] if f["resource"].endswith('"free form options"]'[:-1]))
    free_form = next(f for f in doc["findings"] if f["resource"].endswith('"free form"'))
    assert free["message"].endswith(
        "metadata_options in key=value arguments: image_id=ami-1 metadata_options={{ options }}"
    )
    run = cli("fix", ".", cwd=tmp_path)
    assert "Fixed 4 findings in 1 file; 4 findings left." in run.out, run.out
    assert "write them as a mapping under amazon.aws.ec2_instance" in free_form["message"]
    assert "metadata_options is written empty; write its settings under it by hand" in run.out
    text = (tmp_path / "site.yml").read_text()
    # local_action: the block goes into the action's mapping, beside module
    assert (
        "      local_action:\n"
        "        metadata_options:\n"
        "          http_endpoint: enabled\n"
        "          http_tokens: required\n"
        "          http_put_response_hop_limit: 1\n"
        "        module: amazon.aws.ec2_instance\n"
    ) in text
    assert text.count("metadata_options:") == 7  # five written, two added


def test_tasks_that_launch_nothing_are_no_targets(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "ops.yml",
        """
        - hosts: localhost
          tasks:
            - amazon.aws.ec2_instance:
                instance_ids: [i-0123456789abcdef0]
                state: stopped
            - amazon.aws.ec2_instance:
                state: terminated
                image_id: ami-123456
            - amazon.aws.ec2_launch_template:
                name: old
                state: absent
            - amazon.aws.ec2_spot_instance:
                spot_instance_request_ids: [sir-12345678]
                state: absent
            - ec2:
                instance_ids: [i-0123456789abcdef0]
                state: stopped
        """,
    )
    doc = _scan(cli, tmp_path)
    assert doc["findings"] == [] and doc["summary"]["targets"] == 0


def test_an_instance_takes_the_options_of_the_launch_template_it_names(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "fleet.yml",
        """
        - hosts: localhost
          tasks:
            - name: Create an ec2 launch template
              amazon.aws.ec2_launch_template:
                name: "my_template"
                image_id: "ami-04b762b4289fba92b"
                instance_type: t2.micro
            - name: from the template
              amazon.aws.ec2_instance:
                launch_template:
                  name: my_template
            - name: from a template made elsewhere
              amazon.aws.ec2_instance:
                launch_template:
                  id: lt-0123456789abcdef0
        """,
    )
    doc = _scan(cli, tmp_path)
    got = [(f["rule_id"], f["line"]) for f in doc["findings"]]
    assert got == [("IMDS001", 4), ("IMDS004", 15)]
    assert doc["findings"][0]["message"].endswith(
        '(launch template of play localhost / task "from the template")'
    )
    assert "launch template lt-0123456789abcdef0" in doc["findings"][1]["message"]


def test_variables_of_the_task_and_its_block_and_undefined_ones(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "vars.yml",
        """
        - hosts: localhost
          vars:
            tokens: optional
          tasks:
            - name: web
              block:
                - name: task vars win
                  amazon.aws.ec2_instance:
                    image_id: ami-123456
                    metadata_options:
                      http_tokens: "{{ tokens }}"
                  vars:
                    tokens: optional
                - name: block vars
                  amazon.aws.ec2_instance:
                    image_id: ami-123456
                    metadata_options:
                      http_tokens: "{{ tokens }}"
                      http_put_response_hop_limit: "{{ hops }}"
              vars:
                tokens: required
                hops: "{{ more_hops }}"
                more_hops: 4
            - name: undefined
              amazon.aws.ec2_instance:
                image_id: ami-123456
                metadata_options:
                  http_tokens: "{{ not_here }}"
        """,
    )
    doc = _scan(cli, tmp_path)
    got = [(f["rule_id"], f["line"], f["fix"]) for f in doc["findings"]]
    # task vars: inside the task, a safe fix; the block's hop limit through a second variable
    assert got == [("IMDS002", 13, "safe"), ("IMDS003", 23, "unsafe"), ("IMDS004", 28, None)]
    assert (
        "not_here is not set in the task's, block's or play's vars" in doc["findings"][2]["message"]
    )
    assert 'more_hops in the vars of block "web"' in doc["findings"][1]["message"]


def test_suppressions_on_the_task_line_and_above_it(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "play.yml",
        """
        - name: Launch
          hosts: localhost
          tasks:
            - name: Launch instance  # imds-iac: ignore[IMDS001] legacy AMI until Q3
              amazon.aws.ec2_instance:
                image_id: ami-123456
            # imds-iac: ignore[IMDS002] tracked in OPS-12
            - name: Launch other
              amazon.aws.ec2_instance:
                image_id: ami-123456
                metadata_options:
                  http_tokens: optional
            - name: Not suppressed
              amazon.aws.ec2_instance:
                image_id: ami-123456
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    got = [(f["rule_id"], f["line"], f["suppressed"]) for f in doc["findings"]]
    assert got == [
        ("IMDS001", 5, "imds-iac: ignore: legacy AMI until Q3"),
        ("IMDS002", 12, "imds-iac: ignore: tracked in OPS-12"),
        ("IMDS001", 14, None),
    ]


def test_imdsv1_calls_of_the_same_playbook_and_of_user_data(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "site.yml",
        """
        - name: Launch and configure
          hosts: localhost
          tasks:
            - name: Launch instance
              amazon.aws.ec2_instance:
                name: app
                image_id: ami-123456
                user_data: |
                  #!/bin/bash
                  REGION=$(curl -s http://169.254.169.254/latest/meta-data/placement/region)
                  echo "$REGION" > /etc/region
                metadata_options:
                  http_tokens: optional

        - name: Configure
          hosts: app
          tasks:
            - name: Read the instance id
              ansible.builtin.shell: curl -s http://169.254.169.254/latest/meta-data/instance-id
        """,
    )
    doc = _scan(cli, tmp_path)
    got = [(f["rule_id"], f["line"], f["fix"]) for f in doc["findings"]]
    # The user data runs on the instance launched: requiring tokens there is unsafe until it
    # is fixed. The shell task runs on the play's hosts, which are no instance declared here.
    assert got == [("IMDS007", 10, "unsafe"), ("IMDS002", 13, "unsafe"), ("IMDS007", 19, None)]
    assert "this user data runs on play" in doc["findings"][0]["message"]
    assert "tied to no instance" in doc["findings"][2]["message"]
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert "Fixed 2 findings" in run.out
    text = (tmp_path / "site.yml").read_text()
    assert "X-aws-ec2-metadata-token: ${TOKEN}" in text and "http_tokens: required" in text


def test_addresses_are_unique_and_when_is_said(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "roles/app/tasks/main.yml",
        """
        - amazon.aws.ec2_instance:
            image_id: ami-123456
          when:
            - launch_app
            - env == "prod"
        - amazon.aws.ec2_instance:
            image_id: ami-123456
          loop: "{{ range(3) | list }}"
        """,
    )
    doc = _scan(cli, tmp_path)
    assert [f["resource"] for f in doc["findings"]] == [
        "task amazon.aws.ec2_instance",
        "task amazon.aws.ec2_instance #2",
    ]
    assert doc["findings"][0]["message"].endswith(
        '(the resource exists only when launch_app and env == "prod")'
    )


def test_yaml_that_names_no_module_is_not_parsed() -> None:
    manifest = b"apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n"
    assert not ansible.worth(manifest)
    data = b"- hosts: all\n  tasks:\n    - amazon.aws.ec2_instance:\n        image_id: ami-1\n"
    assert ansible.worth(data)
    # The file is parsed once for its targets and its payloads.
    first = playbooks.parsed(data)
    assert first is not None and playbooks.parsed(data) is first
    assert playbooks.parsed(b"- [unclosed\n") is None


def test_a_variable_cycle_and_a_key_written_twice(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "cycle.yml",
        """
        - hosts: localhost
          vars:
            a: "{{ b }}"
            b: "{{ a }}"
          tasks:
            - name: cycle
              amazon.aws.ec2_instance:
                image_id: ami-123456
                metadata_options:
                  http_tokens: "{{ a }}"
        """,
    )
    write(
        tmp_path,
        "twice.yml",
        """
        - hosts: localhost
          tasks:
            - name: twice
              amazon.aws.ec2_instance:
                image_id: ami-123456
                metadata_options:
                  http_tokens: required
                  http_tokens: optional
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert [(f["rule_id"], f["path"], f["line"]) for f in doc["findings"]] == [
        ("IMDS004", "cycle.yml", 4),
    ]
    assert "more than 8 variables deep, or a cycle" in doc["findings"][0]["message"]
    assert [(e["path"], e["line"]) for e in doc["errors"]] == [("twice.yml", 8)]
    assert "duplicate key 'http_tokens' (Ansible takes the last one" in doc["errors"][0]["message"]


def test_yaml_merge_keys_are_applied_as_ansible_loads_them(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "site.yml",
        """
        - name: Launch
          hosts: localhost
          vars:
            imds_defaults: &imds
              http_tokens: required
            imds_legacy: &legacy
              http_endpoint: enabled
              http_tokens: optional
            imds_endpoint: &imds_endpoint
              http_endpoint: enabled
          tasks:
            - name: merged
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  <<: *imds
                  http_put_response_hop_limit: 1
            - name: merged legacy
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  <<: *legacy
            - name: the first of a list wins, a key written wins over both
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  <<: [*legacy, *imds]
                  http_put_response_hop_limit: 1
            - name: written over the merge
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  <<: *legacy
                  http_tokens: required
            - name: aliased block
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options: *imds_endpoint
        """,
    )
    doc = _scan(cli, tmp_path)
    got = [(f["rule_id"], f["line"], f["fix"]) for f in doc["findings"]]
    # The legacy anchor's value is shared: its fix is unsafe. The aliased block lacks tokens:
    # adding them there would change every user of the anchor, so no fix adds it.
    assert got == [("IMDS002", 8, "unsafe"), ("IMDS002", 8, "unsafe"), ("IMDS002", 38, None)]
    assert doc["findings"][0]["message"].endswith(
        'http_tokens is "optional" (anchor &legacy, via <<: *legacy at line 22); set it to '
        '"required"'
    )
    assert "edits anchor &legacy at site.yml:8" in doc["findings"][0]["fix_note"]
    assert doc["findings"][1]["message"].endswith(
        '(anchor &legacy, via <<: [*legacy, *imds] at line 27); set it to "required"'
    )
    assert "this metadata_options is anchor &imds_endpoint" in doc["findings"][2]["message"]
    assert not doc["findings"][2]["fixable"]
    run = cli("fix", "--unsafe-fixes", ".", cwd=tmp_path)
    assert "Fixed 2 findings in 1 file; 1 finding left." in run.out, run.out
    text = (tmp_path / "site.yml").read_text()
    assert (
        "    imds_legacy: &legacy\n      http_endpoint: enabled\n      http_tokens: required\n"
        in (text)
    )
    assert "          <<: *legacy\n" in text  # the merges are kept


def test_a_merge_key_on_no_mapping_is_an_error(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "site.yml",
        """
        - hosts: localhost
          vars:
            tokens: &tokens required
          tasks:
            - amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  <<: *tokens
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["findings"] == []
    assert [(e["path"], e["line"], e["column"]) for e in doc["errors"]] == [("site.yml", 3, 13)]
    assert "expected a mapping or a list of mappings for merging" in doc["errors"][0]["message"]


def test_a_second_launch_template_task_makes_a_version_that_inherits(cli, tmp_path: Path) -> None:
    # The collection's own example: a new version of a template an earlier task makes.
    write(
        tmp_path,
        "templates.yml",
        """
        - hosts: localhost
          tasks:
            - name: Create an ec2 launch template
              amazon.aws.ec2_launch_template:
                name: "my_template"
                image_id: "ami-04b762b4289fba92b"
                instance_type: t2.micro
                metadata_options:
                  http_tokens: required
            - name: >
                Create a new version of an existing ec2 launch template with a different instance
                type, while leaving an older version as the default version
              amazon.aws.ec2_launch_template:
                name: "my_template"
                default_version: 1
                instance_type: c5.4xlarge
        """,
    )
    write(
        tmp_path,
        "versions.yml",
        """
        - hosts: localhost
          tasks:
            - name: Create
              amazon.aws.ec2_launch_template:
                name: workers
                image_id: ami-04b762b4289fba92b
                metadata_options:
                  http_tokens: optional
            - name: Larger instances
              amazon.aws.ec2_launch_template:
                name: workers
                instance_type: c5.4xlarge
            - name: From version 1
              amazon.aws.ec2_launch_template:
                name: workers
                source_version: 1
                instance_type: c5.large
            - name: Without a source version
              amazon.aws.ec2_launch_template:
                name: workers
                source_version: ""
                instance_type: c5.large
            - name: A template made elsewhere
              amazon.aws.ec2_launch_template:
                name: shared
                instance_type: c5.large
        """,
    )
    doc = _scan(cli, tmp_path)
    got = [(f["rule_id"], f["path"], f["line"]) for f in doc["findings"]]
    assert got == [
        ("IMDS002", "versions.yml", 8),
        ("IMDS004", "versions.yml", 16),
        ("IMDS001", "versions.yml", 19),
        ("IMDS001", "versions.yml", 24),
    ]
    messages = [f["message"] for f in doc["findings"]]
    assert messages[0].endswith(
        '(launch template of task "Larger instances")'.replace("task", "play localhost / task")
    )
    assert messages[1].endswith(
        "takes its metadata options from launch template workers version 1 (source_version: the "
        "files scanned do not show which version that is), which could not be resolved statically"
    )
    # Without metadata_options the module sends none: the suboption default is not the reason.
    assert 'defaults to "optional"' not in messages[2]
    assert "already exists" not in messages[2]
    assert messages[3].endswith(
        "(amazon.aws.ec2_launch_template sends no MetadataOptions without it: the AMI's or the "
        "account's default applies; if launch template shared already exists, this task adds a "
        "version that inherits the latest version's metadata_options instead); add one with "
        'http_tokens set to "required"'
    )


def test_module_defaults_give_the_arguments_a_task_does_not_write(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "site.yml",
        """
        - name: Launch with module defaults
          hosts: localhost
          module_defaults:
            amazon.aws.ec2_instance:
              metadata_options: {http_endpoint: enabled, http_tokens: required}
            group/aws:
              region: eu-west-1
          tasks:
            - name: Launch
              amazon.aws.ec2_instance: {image_id: ami-1, instance_type: t3.micro}
            - name: Legacy
              module_defaults:
                ec2_instance:
                  region: eu-west-1
              block:
                - name: Launch legacy
                  amazon.aws.ec2_instance:
                    image_id: ami-1
            - name: Written in the task
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  http_endpoint: enabled

        - name: Group defaults
          hosts: localhost
          module_defaults:
            group/amazon.aws.aws:
              metadata_options:
                http_tokens: optional
          tasks:
            - name: Launch from the group's defaults
              ec2_instance:
                image_id: ami-1
        """,
    )
    doc = _scan(cli, tmp_path)
    got = [(f["rule_id"], f["line"], f["fix"]) for f in doc["findings"]]
    # The block's entry for the module replaces the play's whole; the task's own
    # metadata_options replaces the defaults' whole (with the module's suboption defaults).
    assert got == [("IMDS001", 17, "safe"), ("IMDS002", 22, "safe"), ("IMDS002", 30, "unsafe")]
    assert doc["findings"][2]["message"].endswith(
        'http_tokens is "optional" (metadata_options.http_tokens in the module_defaults of play '
        '"Group defaults", via ec2_instance at line 33); set it to "required"'
    )


def test_args_are_merged_under_the_modules_own_arguments(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "site.yml",
        """
        - hosts: localhost
          tasks:
            - name: image in args
              amazon.aws.ec2_instance:
                name: app
                instance_type: t3.micro
              args:
                image_id: ami-1
            - name: options in args
              amazon.aws.ec2_instance:
                image_id: ami-1
              args:
                metadata_options:
                  http_tokens: optional
            - name: the module's own arguments win
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  http_tokens: required
              args:
                metadata_options:
                  http_tokens: optional
            - name: free form with args
              amazon.aws.ec2_instance: image_id=ami-1 instance_type=t3.micro
              args:
                metadata_options:
                  http_tokens: required
        """,
    )
    doc = _scan(cli, tmp_path)
    got = [(f["rule_id"], f["line"], f["fixable"]) for f in doc["findings"]]
    assert got == [("IMDS001", 4, True), ("IMDS002", 14, True)]
    assert doc["summary"]["targets"] == 4


def test_files_that_cannot_be_read_are_errors_when_they_call_an_ec2_module(
    cli, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "broken.yml",
        """
        - hosts: localhost
          tasks:
            - name: Launch
              amazon.aws.ec2_instance:
                image_id: ami-1
                security_group_ids: [sg-0123456789abcdef0
                instance_type: t3.micro
        """,
    )
    (tmp_path / "latin1.yml").write_bytes(
        b"- hosts: localhost\n  tasks:\n    - name: Lancer l'instance (caf\xe9)\n"
        b"      amazon.aws.ec2_instance:\n        image_id: ami-1\n"
    )
    # Not Ansible's to load (a role's Jinja templates), or no EC2 module: not ours.
    write(tmp_path, "roles/app/templates/launch.yml", "- amazon.aws.ec2_instance: {{ x }\n")
    write(tmp_path, "other.yml", "- hosts: all\n  tasks: [\n")
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["findings"] == []
    errors = [(e["path"], e["line"], e["column"], e["message"]) for e in doc["errors"]]
    assert errors[0][:3] == ("broken.yml", 7, 22) and errors[0][3].startswith("invalid YAML: ")
    assert errors[1] == ("latin1.yml", 3, 35, "cannot read: not valid UTF-8 text (byte 0xe9)")
    assert len(errors) == 2


def test_blocks_nested_past_the_bound_are_an_error(cli, tmp_path: Path) -> None:
    lines = ["- hosts: localhost", "  tasks:"]
    indent = "    "
    for _ in range(playbooks.MAX_DEPTH + 2):
        lines.append(f"{indent}- block:")
        indent += "    "
    lines += [f"{indent}- amazon.aws.ec2_instance:", f"{indent}    image_id: ami-1"]
    (tmp_path / "deep.yml").write_text("\n".join(lines) + "\n")
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["findings"] == []
    assert [e["message"] for e in doc["errors"]] == [
        "blocks nested more than 32 deep: the tasks inside are not read"
    ]


def test_a_suppression_where_the_task_uses_the_variable(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "site.yml",
        """
        - hosts: localhost
          vars:
            imds_legacy: &legacy
              http_tokens: optional
          tasks:
            - name: legacy agent
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  <<: *legacy  # imds-iac: ignore[IMDS002] agent v1 until Q3
            - name: not suppressed
              amazon.aws.ec2_instance:
                image_id: ami-1
                metadata_options:
                  <<: *legacy
        """,
    )
    write(tmp_path, "roles/w/defaults/main.yml", "---\nweb_http_tokens: optional\n")
    write(
        tmp_path,
        "roles/w/tasks/main.yml",
        """
        ---
        - name: Launch the web tier
          amazon.aws.ec2_instance:
            image_id: ami-1
            metadata_options:
              http_tokens: "{{ web_http_tokens }}"  # imds-iac: ignore[IMDS002] agent v1 until Q3
        """,
    )
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    got = [(f["rule_id"], f["path"], f["resource"], f["suppressed"]) for f in doc["findings"]]
    why = "imds-iac: ignore: agent v1 until Q3"
    assert got == [
        ("IMDS002", "roles/w/defaults/main.yml", 'task "Launch the web tier"', why),
        ("IMDS002", "site.yml", 'play localhost / task "legacy agent"', why),
        ("IMDS002", "site.yml", 'play localhost / task "not suppressed"', None),
    ]


def test_merge_keys_that_bring_in_too_much_are_an_error(cli, tmp_path: Path) -> None:
    keys = "\n".join(f"      key_{i}: {i}" for i in range(2_000))
    tasks = "\n".join(
        "    - amazon.aws.ec2_instance:\n        image_id: ami-1\n        tags: {<<: *big}"
        for _ in range(playbooks.MAX_MERGED // 2_000 + 1)
    )
    text = f"- hosts: localhost\n  vars:\n    big: &big\n{keys}\n  tasks:\n{tasks}\n"
    (tmp_path / "big.yml").write_text(text)
    doc = cli("check", "--format", "json", ".", cwd=tmp_path).json()
    assert doc["findings"] == []
    assert [e["message"] for e in doc["errors"]] == [
        "invalid YAML: merge keys bring in more than 1,000,000 keys: not read"
    ]


def test_versions_of_a_template_named_by_jinja_and_a_deleted_template(cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        "roles/lt/tasks/main.yml",
        """
        - name: Create a launch template
          amazon.aws.ec2_launch_template:
            name: "{{ test_launch_template_name }}"
            image_id: "{{ ec2_ami_id }}"
            metadata_options:
              http_tokens: required
        - name: Create a launch template version with another instance type
          amazon.aws.ec2_launch_template:
            name: "{{ test_launch_template_name }}"
            instance_type: t3.micro
        - name: Delete the launch template
          amazon.aws.ec2_launch_template:
            name: "{{ test_launch_template_name }}"
            state: absent
        - name: Create the launch template again
          amazon.aws.ec2_launch_template:
            name: "{{ test_launch_template_name }}"
            image_id: "{{ ec2_ami_id }}"
        """,
    )
    doc = _scan(cli, tmp_path)
    assert [(f["rule_id"], f["line"]) for f in doc["findings"]] == [("IMDS001", 16)]
    assert (
        "if launch template {{ test_launch_template_name }} already exists"
        in (doc["findings"][0]["message"])
    )
