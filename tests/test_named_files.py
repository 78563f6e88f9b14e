"""Files named one by one, as pre-commit passes the changed ones (issue 14, point 2): a named
.tf or variable file is evaluated in the module graphs that reach it, and exactly the findings
tied to it are reported — by location, resource, module call or any link of the provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from imds_iac_checks import scan as scan_module

from .conftest import Run, write

INSTANCE = """
    resource "aws_instance" "{name}" {{
      ami = "ami-1"
      metadata_options {{
        http_tokens = {tokens}
      }}
    }}
    """


@pytest.fixture
def cli(cli):  # type: ignore[no-untyped-def]
    """``imds-iac`` in-process, ``check`` in the concise format (one line a finding); a later
    ``--format`` wins."""

    def run(*args: str, cwd: Path | None = None) -> Run:
        if args and args[0] == "check":
            args = (args[0], "--format", "concise", *args[1:])
        return cli(*args, cwd=cwd)  # type: ignore[no-any-return]

    return run


def lines(run: Run) -> list[str]:
    """The finding lines of a text report."""
    return [line for line in run.out.splitlines() if ": IMDS" in line]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository as the issue describes it: a root module of its own (svc), a module called
    from a root in another directory (live/prod -> modules/app -> modules/web), an unrelated
    insecure instance, and a CloudFormation stack."""
    write(tmp_path, "svc/variables.tf", 'variable "tokens" {\n  default = "required"\n}\n')
    write(tmp_path, "svc/main.tf", INSTANCE.format(name="a", tokens="var.tokens"))
    write(tmp_path, "svc/outputs.tf", 'output "id" {\n  value = aws_instance.a.id\n}\n')
    write(
        tmp_path,
        "modules/web/variables.tf",
        'variable "tokens" {\n  type    = string\n  default = "required"\n}\n',
    )
    write(tmp_path, "modules/web/locals.tf", "locals {\n  tokens = var.tokens\n}\n")
    write(tmp_path, "modules/web/main.tf", INSTANCE.format(name="w", tokens="local.tokens"))
    write(
        tmp_path,
        "modules/app/main.tf",
        """
        variable "web_tokens" {
          type = string
        }
        module "web" {
          source = "../web"
          tokens = var.web_tokens
        }
        """,
    )
    write(
        tmp_path,
        "live/prod/main.tf",
        """
        variable "tokens" {
          type    = string
          default = "required"
        }
        module "app" {
          source     = "../../modules/app"
          web_tokens = var.tokens
        }
        """,
    )
    write(tmp_path, "live/prod/bastion.tf", 'resource "aws_instance" "bastion" {\n  ami = "x"\n}\n')
    write(tmp_path, "stack.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n")
    return tmp_path


def test_a_changed_default_is_found_as_the_directory_scan_finds_it(cli, repo: Path) -> None:
    """The issue's report: only svc/variables.tf changed, its default now "optional"."""
    write(repo, "svc/variables.tf", 'variable "tokens" {\n  default = "optional"\n}\n')
    named = cli("check", "svc/variables.tf", cwd=repo)
    directory = cli("check", "svc/", cwd=repo)
    assert named.code == 1
    assert lines(named) == lines(directory)
    assert lines(named)[0].startswith("svc/variables.tf:2:13: IMDS002 [aws_instance.a]")


def test_a_module_is_evaluated_through_the_roots_that_call_it(cli, repo: Path) -> None:
    """The value is written in a root two module calls up: the finding is there, and it is
    reported for the named module file its provenance passes through."""
    write(repo, "live/prod/terraform.tfvars", 'tokens = "optional"\n')
    for named in ("modules/web/main.tf", "modules/web/locals.tf", "modules/app/main.tf"):
        run = cli("check", named, cwd=repo)
        assert run.code == 1, named
        assert lines(run) == [
            "live/prod/terraform.tfvars:1:10: IMDS002 [module.app.module.web.aws_instance.w] "
            'http_tokens is "optional" (var.tokens in terraform.tfvars, via var.tokens, '
            'var.web_tokens, local.tokens at modules/web/main.tf:4); set it to "required"'
        ], named
    # The module's variable declaration does not decide the value (the root passes it): not
    # tied; nor is the root's bastion, whatever is named in the module.
    assert cli("check", "modules/web/variables.tf", cwd=repo).code == 0


def test_a_module_default_reaches_the_named_file_through_a_caller(cli, repo: Path) -> None:
    write(
        repo,
        "modules/app/main.tf",
        'module "web" {\n  source = "../web"\n}\n',  # the module's default applies
    )
    write(
        repo,
        "modules/web/variables.tf",
        'variable "tokens" {\n  type    = string\n  default = "optional"\n}\n',
    )
    run = cli("check", "--format", "json", "modules/web/variables.tf", cwd=repo)
    assert [(f["path"], f["line"], f["resource"]) for f in run.json()["findings"]] == [
        ("modules/web/variables.tf", 3, "module.app.module.web.aws_instance.w")
    ]


def test_a_named_root_file_reports_what_its_module_calls_make(cli, repo: Path) -> None:
    """A module call in the named file instantiates the module's resources: their findings are
    tied to it (as a scan of the file reported before), the root's other files' are not."""
    write(repo, "modules/web/main.tf", 'resource "aws_instance" "w" {\n  ami = "x"\n}\n')
    run = cli("check", "live/prod/main.tf", cwd=repo)
    assert [line.split(" no ")[0] for line in lines(run)] == [
        "modules/web/main.tf:1:1: IMDS001 [module.app.module.web.aws_instance.w]"
    ]
    assert "bastion" not in run.out


def test_provenance_through_locals(cli, repo: Path) -> None:
    """Only locals.tf changed (the local now ignores the variable): the finding is at the
    local, in the named file; naming the variable file instead reports nothing."""
    write(repo, "modules/web/locals.tf", 'locals {\n  tokens = "optional"\n}\n')
    run = cli("check", "modules/web/locals.tf", cwd=repo)
    assert [line.split(" [")[0] for line in lines(run)] == ["modules/web/locals.tf:2:12: IMDS002"]
    assert cli("check", "modules/web/variables.tf", cwd=repo).code == 0
    # The instance's own file is tied by its resource and the provenance.
    assert lines(cli("check", "modules/web/main.tf", cwd=repo)) == lines(run)


def test_named_variable_files(cli, repo: Path) -> None:
    # terraform.tfvars: loaded by its directory's root.
    write(repo, "live/prod/terraform.tfvars", 'tokens = "optional"\n')
    run = cli("check", "live/prod/terraform.tfvars", cwd=repo)
    assert [line.split(" [")[0] for line in lines(run)] == [
        "live/prod/terraform.tfvars:1:10: IMDS002"
    ]
    assert "bastion" not in run.out  # the root's other findings are not the tfvars file's
    # *.auto.tfvars.json: loaded too, after terraform.tfvars.
    write(repo, "live/prod/terraform.tfvars", 'tokens = "required"\n')
    write(repo, "live/prod/web.auto.tfvars.json", '{"tokens": "optional"}\n')
    run = cli("check", "live/prod/web.auto.tfvars.json", cwd=repo)
    assert [line.split(" [")[0] for line in lines(run)] == [
        "live/prod/web.auto.tfvars.json:1:12: IMDS002"
    ]
    assert cli("check", "live/prod/terraform.tfvars", cwd=repo).code == 0  # overridden
    (repo / "live/prod/web.auto.tfvars.json").unlink()
    # Not loaded automatically: a -var-file of the root in its directory, or of its parent's.
    write(repo, "live/prod/env/prod.tfvars", 'tokens = "optional"\n')
    write(repo, "live/prod/staging.tfvars", 'tokens = "optional"\n')
    run = cli("check", "live/prod/env/prod.tfvars", "live/prod/staging.tfvars", cwd=repo)
    assert [line.split(" [")[0] for line in lines(run)] == [
        "live/prod/env/prod.tfvars:1:10: IMDS002",
        "live/prod/staging.tfvars:1:10: IMDS002",
    ]
    assert "(2 files, 2 targets scanned)" in run.out
    # Without --var-file, Terraform does not read it: `check live/prod` stays clean.
    assert cli("check", "live/prod", "modules", cwd=repo).out.count("IMDS002") == 0
    # Neither its directory nor its parent has a root module: said, never a silent pass.
    write(repo, "vars/deep/x.tfvars", 'tokens = "optional"\n')
    run = cli("check", "vars/deep/x.tfvars", cwd=repo)
    assert run.code == 2
    assert run.err.startswith("vars/deep/x.tfvars: not evaluated: no root module to read it with")


def test_an_unrelated_named_file_reports_nothing(cli, repo: Path) -> None:
    write(repo, "svc/variables.tf", 'variable "tokens" {\n  default = "optional"\n}\n')
    write(repo, "notes.md", "# not infrastructure\n")
    run = cli("check", "svc/outputs.tf", "modules/web/variables.tf", "notes.md", cwd=repo)
    assert (run.code, lines(run), run.err) == (0, [], "")
    assert "(2 files, 0 targets scanned)" in run.out


def test_a_module_no_root_calls_is_evaluated_as_a_root(cli, repo: Path) -> None:
    """Never a silent pass: nothing in the tree calls the module (or its caller is excluded), so
    it is evaluated on its own, with its defaults, as `check DIR` evaluates it."""
    write(repo, "orphan/variables.tf", 'variable "tokens" {\n  default = "optional"\n}\n')
    write(repo, "orphan/main.tf", INSTANCE.format(name="o", tokens="var.tokens"))
    run = cli("check", "orphan/variables.tf", cwd=repo)
    assert [line.split(" [")[0] for line in lines(run)] == ["orphan/variables.tf:2:13: IMDS002"]
    # The callers excluded: the module's default decides.
    write(
        repo,
        "modules/web/variables.tf",
        'variable "tokens" {\n  type    = string\n  default = "optional"\n}\n',
    )
    write(repo, "live/prod/terraform.tfvars", 'tokens = "required"\n')
    assert cli("check", "modules/web/variables.tf", cwd=repo).code == 0  # the root passes it
    excluded = ("--exclude", "live", "--exclude", "modules/app")
    run = cli("check", *excluded, "modules/web/variables.tf", cwd=repo)
    assert [line.split(" [")[0] for line in lines(run)] == [
        "modules/web/variables.tf:3:13: IMDS002"
    ]
    # A call with count = 0 makes nothing: the module is still evaluated.
    write(
        repo,
        "modules/app/main.tf",
        'module "web" {\n  source = "../web"\n  count  = 0\n}\n',
    )
    run = cli("check", "modules/web/variables.tf", cwd=repo)
    assert [line.split(" [")[0] for line in lines(run)] == [
        "modules/web/variables.tf:3:13: IMDS002"
    ]


def test_hidden_and_skipped_directories_are_not_searched_for_callers(cli, repo: Path) -> None:
    write(repo, "modules/web/locals.tf", 'locals {\n  tokens = "optional"\n}\n')
    for hidden in (".cache/live", "node_modules/live"):
        write(repo, f"{hidden}/main.tf", 'module "web" {\n  source = "../../modules/web"\n}\n')
    run = cli("check", "--format", "json", "modules/web/locals.tf", cwd=repo)
    assert {f["resource"] for f in run.json()["findings"]} == {
        "module.app.module.web.aws_instance.w"
    }


def test_the_search_for_callers_is_bounded(cli, repo: Path, monkeypatch) -> None:
    """Past its bound the search stops; a module whose callers were not found is evaluated as
    a root, so the file is still checked."""
    from imds_iac_checks.formats.terraform import graph

    write(repo, "modules/web/locals.tf", 'locals {\n  tokens = "optional"\n}\n')
    run = cli("check", "--format", "json", "modules/web/locals.tf", cwd=repo)
    assert {f["resource"] for f in run.json()["findings"]} == {
        "module.app.module.web.aws_instance.w"
    }
    for bound, value in (("MAX_REACH_FILES", 1), ("MAX_REACH_ENTRIES", 3)):
        with monkeypatch.context() as patch:
            patch.setattr(graph, bound, value)
            run = cli("check", "--format", "json", "modules/web/locals.tf", cwd=repo)
        assert {f["resource"] for f in run.json()["findings"]} == {"aws_instance.w"}, bound


def test_named_and_walked_paths_together_report_each_finding_once(cli, repo: Path) -> None:
    write(repo, "live/prod/terraform.tfvars", 'tokens = "optional"\n')
    run = cli("check", "live", "modules/web/main.tf", "live/prod/terraform.tfvars", cwd=repo)
    both = cli("check", "live", cwd=repo)
    assert lines(run) == lines(both)


def test_serial_and_parallel_scans_of_named_files_agree(cli, repo: Path, monkeypatch) -> None:
    write(repo, "live/prod/terraform.tfvars", 'tokens = "optional"\n')
    write(
        repo,
        "stack.yaml",
        """
        AWSTemplateFormatVersion: '2010-09-09'
        Resources:
          Web:
            Type: AWS::EC2::Instance
            Properties:
              MetadataOptions:
                HttpTokens: optional
        """,
    )
    args = ("check", "--format", "json", "modules/web/main.tf", "stack.yaml", "svc/main.tf")
    monkeypatch.setenv("IMDS_IAC_JOBS", "1")
    serial = cli(*args, cwd=repo)
    used: list[bool] = []
    real_pool = scan_module._pool

    def spy(*pool_args):  # type: ignore[no-untyped-def]
        pool = real_pool(*pool_args)
        used.append(pool is not None)
        return pool

    monkeypatch.setattr(scan_module, "_pool", spy)
    monkeypatch.setenv("IMDS_IAC_JOBS", "2")
    parallel = cli(*args, cwd=repo)
    assert used == [True]
    assert (parallel.code, parallel.out, parallel.err) == (serial.code, serial.out, serial.err)
    assert [f["path"] for f in serial.json()["findings"]] == [
        "live/prod/terraform.tfvars",
        "stack.yaml",
    ]


def test_fix_of_a_named_variable_file(cli, repo: Path) -> None:
    """The fix hook: the value is in the named file, so the (unsafe) fix may edit it."""
    write(repo, "live/prod/terraform.tfvars", 'tokens = "optional"\n')
    run = cli("fix", "--unsafe-fixes", "live/prod/terraform.tfvars", cwd=repo)
    assert run.code == 0, run.out + run.err
    assert (repo / "live/prod/terraform.tfvars").read_text() == 'tokens = "required"\n'
