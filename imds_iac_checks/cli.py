"""Command line: ``imds-iac check``, ``fix``, ``report``, ``rules``, ``scp``, ``plugin-path``.

Start-up matters (this runs in pre-commit hooks on every commit): only argparse and the modules a
command needs are imported; adapters load when a file of their kind is scanned.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TextIO

from imds_iac_checks import __version__

if TYPE_CHECKING:
    import argparse

    from imds_iac_checks.config import Resolver
    from imds_iac_checks.model import Finding, ScanError
    from imds_iac_checks.scan import ScanResult
    from imds_iac_checks.source import Files

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2

# argparse.Namespace and types.SimpleNamespace both work: commands only read attributes.
Namespace = Any


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


# --var and --var-file share one list, in command-line order (Terraform applies them in that
# order): each item says which option gave it.
def _var(value: str) -> tuple[str, str]:
    return ("--var", value)


def _var_file(value: str) -> tuple[str, str]:
    return ("--var-file", value)


class Opt:
    """A command-line option, declared once: argparse is built from it, and so is the fast path."""

    __slots__ = ("action", "choices", "default", "dest", "flags", "help", "metavar", "type")

    def __init__(
        self,
        flags: tuple[str, ...],
        dest: str,
        help: str,
        *,
        action: str = "store",
        type: Callable[[str], Any] | None = None,
        choices: tuple[str, ...] | None = None,
        default: Any = None,
        metavar: str | None = None,
    ) -> None:
        self.flags, self.dest, self.help = flags, dest, help
        self.action, self.type, self.choices = action, type, choices
        self.default, self.metavar = default, metavar

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        kwargs: dict[str, Any] = {"dest": self.dest, "help": self.help, "action": self.action}
        if self.action != "store_true":
            kwargs.update(type=self.type, choices=self.choices, metavar=self.metavar)
        if self.action == "store_true":
            kwargs["default"] = False
        else:
            kwargs["default"] = [] if self.default == [] else self.default
        parser.add_argument(*self.flags, **kwargs)


# --format NAME -> the module that writes it, a ``write(result, out, options)`` (imported when
# used: see imds_iac_checks.report).
WRITERS = {
    "full": "imds_iac_checks.report.full",
    "concise": "imds_iac_checks.report.concise",
    "text": "imds_iac_checks.report.full",  # the default, by the name it had before ``full``
    "json": "imds_iac_checks.report.json",
    "sarif": "imds_iac_checks.report.sarif",
    "junit": "imds_iac_checks.report.junit",
    "github": "imds_iac_checks.report.github",
    "gitlab": "imds_iac_checks.report.gitlab",
}
FORMATS = tuple(WRITERS)
TEXT_FORMATS = ("full", "concise", "text")  # human-readable: scan errors go to standard error

_BASE_OPTIONS = (
    Opt(
        ("--format",),
        "format",
        "output format: full (the default, also called text: each finding with its source), "
        "concise (one line a finding), json, sarif, junit, github, gitlab",
        choices=FORMATS,
        default="full",
        metavar="FORMAT",
    ),
    Opt(
        ("-o", "--output"),
        "output",
        "write the report to FILE instead of standard output",
        metavar="FILE",
    ),
    Opt(
        ("--baseline",),
        "baseline",
        "report the findings FILE lists as suppressed: fail only on new ones",
        metavar="FILE",
    ),
    Opt(
        ("--write-baseline",),
        "write_baseline",
        "write the current findings to FILE as a baseline, then exit 0",
        metavar="FILE",
    ),
    Opt(
        ("--hop-limit",),
        "hop_limit",
        "highest allowed http_put_response_hop_limit (default 1; containers need 2)",
        type=int,
        metavar="N",
    ),
    Opt(
        ("--select",),
        "select",
        "rule ids, prefixes or names to enable, comma-separated (default: all)",
        action="append",
        type=_csv,
        metavar="RULES",
    ),
    Opt(
        ("--ignore",),
        "ignore",
        "rule ids, prefixes or names to skip, comma-separated",
        action="append",
        type=_csv,
        metavar="RULES",
    ),
    Opt(
        ("--exclude",),
        "exclude",
        "skip paths matching GLOB (repeatable; relative to the working directory)",
        action="append",
        default=[],
        metavar="GLOB",
    ),
    Opt(
        ("--var",),
        "variables",
        "set a Terraform root-module variable, NAME=VALUE (repeatable), as terraform -var "
        "reads it (TF_VAR_NAME in the environment is read too)",
        action="append",
        type=_var,
        default=[],
        metavar="NAME=VALUE",
    ),
    Opt(
        ("--var-file",),
        "variables",
        "load Terraform variables from a .tfvars or .tfvars.json file (repeatable)",
        action="append",
        type=_var_file,
        default=[],
        metavar="FILE",
    ),
    Opt(
        ("--parameter",),
        "parameters",
        "set a CloudFormation parameter, Key=Value (repeatable), overriding its Default",
        action="append",
        default=[],
        metavar="KEY=VALUE",
    ),
    Opt(
        ("--parameters",),
        "parameter_files",
        "load CloudFormation parameters from a JSON file as the AWS CLI takes it (repeatable)",
        action="append",
        default=[],
        metavar="FILE",
    ),
    Opt(
        ("--max-file-size",),
        "max_file_size",
        "skip and report files larger than MB megabytes (default 8; 0 = no limit)",
        type=float,
        metavar="MB",
    ),
    Opt(
        ("--fail-on",),
        "fail_on",
        "lowest severity that makes the exit code 1 (default: error)",
        choices=("error", "warning"),
    ),
    Opt(
        ("--severity",),
        "severity",
        "report a rule's findings at this severity: RULE=error or RULE=warning (ids, prefixes or "
        "names; comma-separated, repeatable)",
        action="append",
        type=_csv,
        metavar="RULE=LEVEL",
    ),
    Opt(("--exit-zero",), "exit_zero", "exit 0 even when there are findings", action="store_true"),
    Opt(("-q", "--quiet"), "quiet", "print findings only, no summary", action="store_true"),
    Opt(
        ("--config",),
        "config",
        "use this configuration file instead of discovering one",
        metavar="FILE",
    ),
    Opt(
        ("--color",),
        "color",
        "colour the text output (default: auto, only on a terminal)",
        choices=("auto", "always", "never"),
        default="auto",
    ),
)


# The options of ``check`` that ``fix`` has too (the others: report, baseline).
_CHECK_ONLY = ("format", "output", "baseline", "write_baseline")
_SHARED = tuple(opt for opt in _BASE_OPTIONS if opt.dest not in _CHECK_ONLY)
# The report formats of ``fix`` (and ``check --fix``): what was fixed, what was left and why.
FIX_FORMATS = ("text", "json")
# Formats for other tools (annotations, test reports): only ``check`` writes them, and not
# with --statistics (a table, or JSON).
_CHECK_ONLY_FORMATS = ("sarif", "junit", "github", "gitlab")
_DIFF = Opt(
    ("--diff",),
    "diff",
    "print the changes as a unified diff and write nothing; the findings left, and why, go "
    "to standard error (exit 1 if there are changes, else 0 as with ruff, even with findings "
    "left; 2 if a file could not be scanned)",
    action="store_true",
)
_UNSAFE = Opt(
    ("--unsafe-fixes",),
    "unsafe_fixes",
    "also apply unsafe fixes: edits of variable defaults, locals, tfvars, parameters, "
    "mappings and condition branches that other resources may share",
    action="store_true",
)
_STATISTICS = Opt(
    ("--statistics",),
    "statistics",
    "print the number of findings of each rule instead of the findings",
    action="store_true",
)
_STDIN = Opt(
    ("--stdin-filename",),
    "stdin_filename",
    "read the file from standard input (path -) as if it were NAME: the name decides the "
    "format, findings show it, its directory's other files are read from disk",
    metavar="NAME",
)
CHECK_OPTIONS = (
    *_BASE_OPTIONS,
    Opt(
        ("--fix",),
        "fix",
        "fix what is found, as `imds-iac fix` does (with --diff and --unsafe-fixes)",
        action="store_true",
    ),
    _DIFF,
    _UNSAFE,
    _STATISTICS,
    _STDIN,
)
FIX_OPTIONS = (
    _DIFF,
    _UNSAFE,
    Opt(
        ("--format",),
        "format",
        "output format: text, or json (what was fixed, what was left and why; default: text)",
        choices=FIX_FORMATS,
        default="text",
    ),
    _STATISTICS,
    _STDIN,
    *_SHARED,
)
# ``report``: the migration readiness report, with the scan options of ``check`` that change
# what is found (not those about findings: baseline, exit code, colour, fixing).
REPORT_FORMATS = ("markdown", "json", "html")
_REPORT_SCAN = (
    *("hop_limit", "select", "ignore", "exclude", "variables", "parameters"),
    *("parameter_files", "max_file_size", "config", "severity"),
)
REPORT_OPTIONS = (
    Opt(
        ("--format",),
        "format",
        "output format: markdown (the default: a pull-request comment, $GITHUB_STEP_SUMMARY), "
        "json, or html (one self-contained page with a chart)",
        choices=REPORT_FORMATS,
        default="markdown",
        metavar="FORMAT",
    ),
    Opt(
        ("-o", "--output"),
        "output",
        "write the report to FILE instead of standard output",
        metavar="FILE",
    ),
    *(opt for opt in _BASE_OPTIONS if opt.dest in _REPORT_SCAN),
)
OPTIONS = {"check": CHECK_OPTIONS, "fix": FIX_OPTIONS, "report": REPORT_OPTIONS}


def _fast_parse(argv: Sequence[str]) -> Namespace | None:
    """Parse a well-formed ``check`` command line without building argparse (about 5 ms of
    start-up on every pre-commit run). Returns None for anything else — help, a mistake, an
    unusual token — and the caller lets argparse, built from the same :data:`CHECK_OPTIONS`,
    produce the result or the error message."""
    table = OPTIONS.get(argv[0]) if argv else None
    if table is None:
        return None
    by_flag = {flag: opt for opt in table for flag in opt.flags}
    values: dict[str, Any] = {
        opt.dest: (list(opt.default) if isinstance(opt.default, list) else opt.default)
        for opt in table
    }
    for opt in table:
        if opt.action == "store_true":
            values[opt.dest] = False
    paths: list[str] = []
    only_paths = False
    i = 1
    while i < len(argv):
        token = argv[i]
        i += 1
        if only_paths or token == "-" or not token.startswith("-"):
            paths.append(token)
            continue
        if token == "--":
            only_paths = True
            continue
        name, eq, raw = token.partition("=")
        found = by_flag.get(name)
        if found is None:
            return None
        opt = found
        if opt.action == "store_true":
            if eq:
                return None
            values[opt.dest] = True
            continue
        if not eq:
            if i >= len(argv) or argv[i].startswith("-"):
                return None
            raw = argv[i]
            i += 1
        try:
            value = opt.type(raw) if opt.type else raw
        except (TypeError, ValueError):
            return None
        if opt.choices is not None and value not in opt.choices:
            return None
        if opt.action == "append":
            if values[opt.dest] is None:
                values[opt.dest] = []
            values[opt.dest].append(value)
        else:
            values[opt.dest] = value
    return SimpleNamespace(command=argv[0], paths=paths, **values)


def _build_parser() -> argparse.ArgumentParser:
    return _build()[0]


def _build() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The parser, and the parser of each command by name."""
    import argparse

    class _Formatter(argparse.HelpFormatter):
        """argparse's formatter minus its ``import shutil`` (and bz2, lzma): the terminal width
        comes from :func:`os.get_terminal_size` directly."""

        def __init__(self, prog: str) -> None:
            try:
                width = os.get_terminal_size(sys.stderr.fileno()).columns
            except (OSError, ValueError, AttributeError):
                width = int(os.environ.get("COLUMNS", "0") or 0) or 80
            super().__init__(prog, width=max(width - 2, 40), max_help_position=28)

    parser = argparse.ArgumentParser(
        prog="imds-iac",
        formatter_class=_Formatter,
        description="Find infrastructure code that lets EC2 instances use IMDSv1.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"imds-iac {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser(
        "check",
        formatter_class=_Formatter,
        help="scan files and directories",
        description="Scan infrastructure code for instance metadata settings that allow IMDSv1.",
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    for opt in CHECK_OPTIONS:
        opt.add_to(check)

    fix = sub.add_parser(
        "fix",
        formatter_class=_Formatter,
        help="fix what check finds, in place",
        description="Rewrite infrastructure code so that it requires IMDSv2. Safe fixes edit only "
        "the resource itself or its own module-call argument; unsafe fixes (with "
        "--unsafe-fixes) edit shared values. Every edit is re-scanned before it is written.",
    )
    fix.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    for opt in FIX_OPTIONS:
        opt.add_to(fix)

    report = sub.add_parser(
        "report",
        formatter_class=_Formatter,
        help="write a migration readiness report",
        description="Report what requiring IMDSv2 would change and break, per directory, "
        "Terraform module and CloudFormation stack: targets secure, weak and unknown; code "
        "that calls IMDSv1 or pins an SDK too old for IMDSv2, and the targets it blocks; what "
        "`imds-iac fix` would change; and the checks to run against the account. Exit 0 once "
        "written, 2 when a file could not be scanned (the report says which) or on a usage error.",
    )
    report.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or directories (default: .)"
    )
    for opt in REPORT_OPTIONS:
        opt.add_to(report)

    plugin = sub.add_parser(
        "plugin-path",
        formatter_class=_Formatter,
        help="print the directory of the checkov or cfn-lint plugin",
        description="Print the directory to give checkov (--external-checks-dir) or cfn-lint "
        "(--append-rules): their checks call the imds-iac engine.",
    )
    plugin.add_argument("tool", choices=("checkov", "cfn-lint"), help="the host tool")

    rules = sub.add_parser(
        "rules",
        formatter_class=_Formatter,
        help="list the rules or explain one",
        description="List the rules or explain one.",
    )
    from imds_iac_checks.rules import example_id

    rules.add_argument(
        "rule", nargs="?", metavar="RULE", help=f"a rule id such as {example_id()}, or its name"
    )
    rules.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="output format (default: text)",
    )
    scp = sub.add_parser(
        "scp",
        formatter_class=_Formatter,
        help="print the IMDSv2 guardrail policies (SCP, declarative policy)",
        description="Print the service control policy that keeps IMDSv1 out of an organisation "
        "once its instances are migrated: the four statements of the AWS guide (deny role "
        "credentials delivered by IMDSv1, launches that do not require tokens, metadata option "
        "changes, hop limits above the limit), merged or one policy each, as a policy document, "
        "Terraform, CloudFormation, or an EC2 declarative policy. Exit 0 once printed, 2 on a "
        "usage error or a policy over the size limit. See docs/guardrails.md.",
    )
    _add_scp_options(scp)
    commands = {"check": check, "fix": fix, "report": report}
    return parser, {**commands, "plugin-path": plugin, "rules": rules, "scp": scp}


def _add_scp_options(parser: argparse.ArgumentParser) -> None:
    from imds_iac_checks import guardrails

    names = ", ".join(guardrails.STATEMENTS)
    default = ",".join(guardrails.DEFAULT_STATEMENTS)
    parser.add_argument(
        "--statement",
        dest="statement",
        action="append",
        type=_csv,
        metavar="NAMES",
        help=f"statements to include, comma-separated, repeatable ({names}; default: {default})",
    )
    parser.add_argument(
        "--hop-limit",
        dest="hop_limit",
        type=int,
        metavar="N",
        help="highest hop limit a launch may ask for (default: the configuration's hop-limit, 1)",
    )
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument(
        "--merged",
        dest="split",
        action="store_false",
        help="one policy with every statement (the default)",
    )
    shape.add_argument(
        "--split", dest="split", action="store_true", help="one policy per statement"
    )
    parser.set_defaults(split=False)
    parser.add_argument(
        "--format",
        dest="format",
        choices=guardrails.FORMATS,
        default="json",
        metavar="FORMAT",
        help="json (the policy document; the default), terraform (aws_organizations_policy), "
        "cloudformation (AWS::Organizations::Policy), or declarative (the EC2 declarative "
        "policy as JSON: --declarative --format json)",
    )
    parser.add_argument(
        "--declarative",
        dest="declarative",
        action="store_true",
        help="print the EC2 declarative policy of instance metadata defaults instead of the "
        "SCP (in --format json, terraform or cloudformation; --format declarative is the same "
        "as JSON)",
    )
    parser.add_argument(
        "--target",
        dest="target",
        action="append",
        default=[],
        metavar="ID",
        help="attach the policy to a root, OU or account id (repeatable; Terraform adds "
        "aws_organizations_policy_attachment, CloudFormation TargetIds)",
    )
    parser.add_argument(
        "--exempt-principal",
        dest="exempt",
        action="append",
        default=[],
        metavar="ARN",
        help="IAM role or user ARN the statements do not apply to, such as a break-glass role "
        "(repeatable; wildcards allowed: an ArnNotLike aws:PrincipalArn condition)",
    )
    parser.add_argument(
        "--size-limit",
        dest="size_limit",
        type=int,
        default=guardrails.SCP_SIZE_LIMIT,
        metavar="CHARS",
        help=f"the SCP size limit to check against (default {guardrails.SCP_SIZE_LIMIT:,}, "
        "the AWS Organizations quota since 15 May 2026; 5120 for the old one)",
    )
    parser.add_argument(
        "--minify",
        dest="minify",
        action="store_true",
        help="print JSON without whitespace (the AWS CLI counts it against the size limit)",
    )
    parser.add_argument(
        "--config",
        dest="config",
        metavar="FILE",
        help="use this configuration file instead of discovering one (for hop-limit)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        dest="quiet",
        action="store_true",
        help="do not print the warnings on standard error",
    )


def parse_args(argv: Sequence[str]) -> Namespace:
    """The parsed command line; exits with status 2 and a message on a usage error."""
    fast = _fast_parse(argv)
    if fast is not None:
        return fast
    parser, commands = _build()
    first = argv[0] if argv else ""
    if first and not first.startswith("-") and first not in commands:
        close = _closest(first, list(commands))
        maybe = f", did you mean `{close}`?" if close else ""
        parser.error(
            f"argument COMMAND: invalid choice: {first!r}{maybe} "
            f"(choose from {', '.join(commands)})"
        )
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = commands.get(args.command) if args.command else None
        where = command or parser
        known = [flag for action in where._actions for flag in action.option_strings]
        shown = []
        for token in extras:
            name = token.partition("=")[0]
            close = _closest(name, known) if name.startswith("-") else None
            shown.append(token + (f" (did you mean `{close}`?)" if close else ""))
        where.error(f"unrecognized arguments: {' '.join(shown)}")
    return args


def _closest(word: str, choices: list[str]) -> str | None:
    """The choice a mistyped word most likely meant, if one is close enough."""
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _use_color(choice: str, stream: TextIO) -> bool:
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def _fail(message: str) -> int:
    from imds_iac_checks.report.escape import escape

    with contextlib.suppress(OSError, ValueError):  # standard error itself may be gone
        sys.stderr.write(f"imds-iac: error: {escape(message)}\n")
        sys.stderr.flush()
    return EXIT_ERROR


def _flatten(values: list[list[str]] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(item for group in values for item in group)


def _usage_error(args: Namespace) -> str | None:
    """What is wrong with a command line that parsed, found before anything is scanned: an
    option that does not go with another, a path that does not exist, a report that could not
    be written. None when nothing is."""
    fixing = args.command == "fix" or getattr(args, "fix", False) or args.diff
    stdin = args.stdin_filename
    if stdin is not None:
        if not stdin.strip():
            return "--stdin-filename: expected a file name"
        if os.path.isdir(stdin):
            return f"--stdin-filename {stdin}: is a directory"
        if any(path != "-" for path in args.paths):
            return "--stdin-filename reads the file from standard input: give `-` or no path"
    elif "-" in args.paths:
        return "-: reading standard input needs --stdin-filename NAME (the name decides the format)"
    if args.command == "check" and fixing:
        flag = "--fix" if args.fix else "--diff"
        for given, name in (
            (args.baseline, "--baseline"),
            (args.write_baseline, "--write-baseline"),
            (args.output, "--output"),
        ):
            if given is not None:
                return f"{name} cannot be used with {flag}"
        if args.format in _CHECK_ONLY_FORMATS:
            return f"--format {args.format} cannot be used with {flag} (fix reports text or json)"
    if args.command == "check" and args.unsafe_fixes and not fixing:
        return "--unsafe-fixes applies to fixes: add --fix or --diff"
    if args.statistics:
        if args.format in _CHECK_ONLY_FORMATS:
            return f"--statistics cannot be used with --format {args.format} (text or json)"
        if args.diff:
            return "--statistics cannot be used with --diff"
    if (
        fixing
        and stdin is not None
        and not args.diff
        and (args.format == "json" or args.statistics)
    ):
        what = "--statistics" if args.statistics else "--format json"
        return (
            f"{what} cannot be used to fix standard input: the fixed text goes to standard output"
        )
    for path in args.paths:
        if path != "-" and not os.path.lexists(path):
            return f"{path}: no such file or directory"
    if args.config is not None and not os.path.exists(args.config):
        return f"{args.config}: cannot read configuration: no such file or directory"
    for path in (getattr(args, "output", None), getattr(args, "write_baseline", None)):
        if path is not None:
            problem = _unwritable(path)
            if problem:
                return f"{path}: cannot write: {problem}"
    return None


def _unwritable(path: str) -> str | None:
    """Why a report could not be written at ``path`` (checked before the scan), or None."""
    if os.path.isdir(path):
        return "is a directory"
    parent = os.path.dirname(path) or "."
    if not os.path.isdir(parent):
        return f"no such directory {parent}"
    return None


def _read_stdin(limit: int) -> bytes:
    """The bytes of standard input, at most ``limit`` (0: any number). Raises ConfigError."""
    from imds_iac_checks.config import ConfigError
    from imds_iac_checks.source import too_large_message

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise ConfigError("-: standard input is closed")
    data = stream.read(limit + 1) if limit else stream.read()
    if limit and len(data) > limit:
        raise ConfigError(f"-: standard input: {too_large_message(len(data), limit)}")
    return bytes(data)


def _scanner(
    args: Namespace, cwd: str
) -> tuple[Callable[[Files | None], ScanResult], Resolver, bytes | None]:
    """The scan a command line asks for, ready to run (and to run again) through the Files
    given (default: the files on disk), its configuration resolver, and what standard input
    held (``--stdin-filename``; else None). Raises ConfigError.

    With ``--stdin-filename NAME``, NAME is scanned with the bytes of standard input in place
    of what the disk holds (if anything): every Files the scan reads through overlays them."""
    from imds_iac_checks.config import (
        Overrides,
        Resolver,
        check_hop_limit,
        check_max_file_size,
        compile_glob,
        parse_selectors,
        parse_severity_flags,
    )
    from imds_iac_checks.scan import scan
    from imds_iac_checks.source import Files

    hop = None if args.hop_limit is None else check_hop_limit(args.hop_limit, "--hop-limit")
    max_size = (
        None
        if args.max_file_size is None
        else check_max_file_size(args.max_file_size, "--max-file-size")
    )
    select = _flatten(args.select)
    ignore = _flatten(args.ignore)
    severity = _flatten(getattr(args, "severity", None))
    overrides = Overrides(
        hop_limit=hop,
        select=None if select is None else parse_selectors(select, "--select", allow_empty=False),
        ignore=None if ignore is None else parse_selectors(ignore, "--ignore"),
        exclude=tuple(compile_glob(g, cwd) for g in args.exclude),
        fail_on=args.fail_on,
        max_file_size=max_size,
        severity=parse_severity_flags(severity, "--severity") if severity else (),
    )
    resolver = Resolver(overrides, args.config)
    paths = [args.stdin_filename] if args.stdin_filename is not None else args.paths or ["."]
    # The settings of the first path (as the scan takes them) bound the files read before it.
    resolver.for_path(paths[0])
    cfn_parameters = _cfn_parameters(
        args.parameter_files, args.parameters, resolver.size_limit.value
    )
    variables = _terraform_variables(args.variables, resolver.size_limit.value)
    env_variables = _terraform_env(os.environ)
    stdin: dict[str, bytes] = {}
    given = None
    if args.stdin_filename is not None:
        given = _read_stdin(resolver.size_limit.value)
        stdin[os.path.abspath(os.path.join(cwd, args.stdin_filename))] = given
    # Files imds-iac itself reads or writes are not infrastructure: a baseline, report or
    # CloudFormation parameters file in the scanned tree is neither scanned nor counted.
    own = [getattr(args, name, None) for name in ("baseline", "write_baseline", "output")]
    own += args.parameter_files
    skip = frozenset(os.path.realpath(os.path.join(cwd, path)) for path in own if path)

    def run(files: Files | None = None) -> ScanResult:
        if stdin:
            files = Files() if files is None else files
            for key, data in stdin.items():
                files.overlay.setdefault(key, data)
        return scan(
            paths,
            resolver,
            cwd,
            variables=variables,
            env_variables=env_variables,
            cfn_parameters=cfn_parameters,
            files=files,
            skip=skip,
        )

    return run, resolver, given


def _nothing_found(args: Namespace, result: ScanResult) -> None:
    """Warn (standard error) when the paths given hold no file imds-iac reads: a scan of
    nothing is not a clean result. The exit code stays 0, as ruff's does."""
    if result.files or result.errors or args.quiet:
        return
    from imds_iac_checks.formats import FILE_KINDS
    from imds_iac_checks.formats.scripts import declares_targets
    from imds_iac_checks.report.escape import escape

    paths = [args.stdin_filename] if args.stdin_filename is not None else args.paths or ["."]
    # Infrastructure code: what launches instances (Packer templates and CDK apps among the
    # code files; other scripts and manifests are read for migration hazards only), and the
    # variable files read with it.
    suffixes = [
        kind.shown
        for kind in FILE_KINDS
        if kind.reads_as not in ("", "script", "manifest")
        or (kind.reads_as == "script" and declares_targets(kind.suffix, kind.syntax))
        or kind.suffix in (".tfvars", ".pkrvars.hcl")
    ]
    suffixes.sort(
        key=lambda suffix: (
            not suffix.startswith(".tf"),
            suffix == ".tfvars",
            len(suffix) if suffix.startswith(".tf") else 0,
        )
    )
    names = ", ".join(suffixes[:-1]) + " and " + suffixes[-1]
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(
            f"imds-iac: warning: no infrastructure file found in {escape(', '.join(paths))} "
            f"(imds-iac reads {names} files)\n"
        )


def _fix(args: Namespace) -> int:
    from imds_iac_checks import fix
    from imds_iac_checks.config import ConfigError
    from imds_iac_checks.report import Options, fixes
    from imds_iac_checks.source import display_path

    cwd = os.getcwd()
    stdin = args.stdin_filename is not None
    paths = [args.stdin_filename] if stdin else args.paths
    try:
        scanner, _, given = _scanner(args, cwd)
        # Standard input is never written anywhere but to standard output: the fix is planned
        # and proven as for --diff, and only the file read from standard input may be edited.
        outcome = fix.run(
            scanner, cwd, unsafe=args.unsafe_fixes, write=not args.diff and not stdin, paths=paths
        )
    except ConfigError as exc:
        return _fail(str(exc))
    _nothing_found(args, outcome.before)
    options = Options(cwd, sys.stderr, color=_use_color(args.color, sys.stdout), quiet=args.quiet)
    if args.format == "json":
        fixes.write_json(outcome, sys.stdout, diff=args.diff)
    elif args.diff:  # the diff alone on standard output; what it leaves, and why, on standard error
        options = options._replace(color=_use_color(args.color, sys.stderr))
        fixes.write_diff(outcome, sys.stdout, options)
    elif stdin:
        shown = display_path(os.path.join(cwd, args.stdin_filename), cwd)
        change = outcome.changes.get(shown)
        _bytes_to_stdout(change[1] if change is not None else given or b"")
        options = options._replace(color=_use_color(args.color, sys.stderr))
        fixes.write(outcome, sys.stderr, options)
    elif args.statistics:  # of the findings left, as ruff's ``check --fix --statistics``
        _statistics(args, outcome.after.findings)
        _errors_to_stderr(outcome.after, outcome.errors)
        if not args.quiet:
            sys.stdout.write(fixes.summary(outcome) + "\n")
    else:
        fixes.write(outcome, sys.stdout, options)
    if args.diff:
        if outcome.before.errors or outcome.errors:
            return EXIT_ERROR  # 2 wins, as for check and fix: something could not be scanned
        # As ruff's --diff: 1 when there is something to change, else 0, even with findings
        # left that no fix changes (they are listed on standard error; `check` fails on them).
        return EXIT_FINDINGS if outcome.changes else EXIT_OK
    return fixes.exit_code(outcome, args.exit_zero)


def _bytes_to_stdout(data: bytes) -> None:
    """The fixed text of the file read from standard input, byte for byte."""
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        sys.stdout.write(data.decode("utf-8", "surrogateescape"))


def _statistics(args: Namespace, findings: list[Finding]) -> None:
    from imds_iac_checks.report import statistics

    if args.format == "json":
        statistics.write_json(findings, sys.stdout)
    else:
        statistics.write(findings, sys.stdout)


def _check(args: Namespace) -> int:
    from imds_iac_checks.config import ConfigError
    from imds_iac_checks.scan import exit_code

    cwd = os.getcwd()
    try:
        scanner, resolver, _ = _scanner(args, cwd)
        known = None
        if args.baseline:  # read before the scan: a baseline that cannot be read is a usage error
            from imds_iac_checks import baseline

            known = baseline.load(args.baseline, resolver.size_limit.value)
        from imds_iac_checks.source import Files

        # What the scan reads through (standard input's overlay included): the full report
        # reads the findings' source through it too.
        files = Files(resolver.size_limit)
        result = scanner(files)
        if known is not None:
            result = result._replace(findings=baseline.apply(result.findings, known))
    except ConfigError as exc:
        return _fail(str(exc))
    except ValueError as exc:  # BaselineError
        return _fail(str(exc))
    _nothing_found(args, result)
    if args.write_baseline:
        from imds_iac_checks import baseline

        try:
            count = baseline.write(args.write_baseline, result.findings)
        except OSError as exc:
            return _fail(f"{args.write_baseline}: cannot write: {exc.strerror or exc}")
        from imds_iac_checks.report.escape import escape

        noun = "finding" if count == 1 else "findings"
        sys.stderr.write(f"Wrote {count} {noun} to {escape(args.write_baseline)}.\n")
        return EXIT_ERROR if result.errors else EXIT_OK
    if args.statistics:
        _statistics(args, result.findings)
        _errors_to_stderr(result)
        return exit_code(result, args.exit_zero)
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="\n") as out:
                _report(args, result, out, cwd, files, color=False)
        except OSError as exc:
            return _fail(f"{args.output}: cannot write: {exc.strerror or exc}")
        if args.format not in TEXT_FORMATS:  # a text report went to the file, errors too
            _errors_to_stderr(result)
    else:
        color = _use_color(args.color, sys.stdout)
        _report(args, result, sys.stdout, cwd, files, color=color)
    return exit_code(result, args.exit_zero)


def _report(
    args: Namespace, result: ScanResult, out: TextIO, cwd: str, files: Files, *, color: bool
) -> None:
    """Write the report in ``--format``; scan errors go to standard error for text."""
    import importlib

    from imds_iac_checks.report import Options

    writer = importlib.import_module(WRITERS[args.format])
    options = Options(cwd, sys.stderr, color=color, quiet=args.quiet, files=files)
    writer.write(result, out, options)


def _errors_to_stderr(result: ScanResult, more: Sequence[ScanError] = ()) -> None:
    from imds_iac_checks.report.text import error_line

    for e in [*result.errors, *more]:
        sys.stderr.write(error_line(e) + "\n")


def _cfn_parameters(files: list[str], pairs: list[str], limit: int) -> dict[str, str]:
    """--parameters files (at most ``limit`` bytes each, 0: any size), then --parameter pairs
    (later wins), each with where it was given (model.Parameters). Raises ConfigError."""
    from imds_iac_checks.config import ConfigError, value_error
    from imds_iac_checks.model import Parameters, compact

    out = Parameters()
    if files:
        from imds_iac_checks.formats.data import load_parameters
    for path in files:
        try:
            loaded = load_parameters(path, limit)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read parameters: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise ConfigError(f"{path}: cannot read parameters: {value_error(exc)}") from None
        for key, value in loaded.items():
            out.give(key, value, f"--parameters {path}")
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--parameter: expected Key=Value, not {pair!r}")
        out.give(key.strip(), value, f"--parameter {compact(pair, 80)}")
    return out


def _terraform_variables(given: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    """--var and --var-file, checked before the scan as Terraform checks them: ``NAME=VALUE``
    with a name (not ending in a space), and variable files that can be read (at most ``limit``
    bytes, 0: any size) and parsed. Raises ConfigError."""
    from imds_iac_checks.config import ConfigError

    for flag, text in given:
        if flag == "--var":
            name, sep, value = text.partition("=")
            if not sep or not name:
                raise ConfigError(f"--var: expected NAME=VALUE, not {text!r}")
            if name.endswith(" "):
                raise ConfigError(
                    f"--var: the variable name {name!r} ends with a space "
                    f"(did you mean {name.rstrip()}={value.lstrip()}?)"
                )
            continue
        from imds_iac_checks import source
        from imds_iac_checks.formats.terraform import module

        # Named as given, like every file of an option (the findings in it name it as usual).
        _found, errors = module.var_inputs(text, text, source.Files(source.SizeLimit(limit)))
        for error in errors:
            where = f"{error.path}:{error.line}:{error.column}" if error.line else error.path
            raise ConfigError(f"{where}: {error.message}")
    return given


def _terraform_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``TF_VAR_name`` values by name, as Terraform reads them for root-module variables."""
    prefix = "TF_VAR_"
    return {k[len(prefix) :]: v for k, v in environ.items() if k.startswith(prefix) and k != prefix}


def _report_command(args: Namespace) -> int:
    """``imds-iac report``: scan, then write the readiness report (report/readiness.py). Exit 0
    once written; 2 when something could not be scanned (the report is written all the same,
    and says what) or on a usage error."""
    from imds_iac_checks.config import ConfigError

    for name, default in (("fail_on", None), ("stdin_filename", None), ("quiet", False)):
        if not hasattr(args, name):  # options of check that report does not take
            setattr(args, name, default)
    for path in args.paths:
        if path == "-":
            return _fail("-: report reads files, not standard input")
        if not os.path.lexists(path):
            return _fail(f"{path}: no such file or directory")
    if args.config is not None and not os.path.exists(args.config):
        return _fail(f"{args.config}: cannot read configuration: no such file or directory")
    if args.output is not None:
        problem = _unwritable(args.output)
        if problem:
            return _fail(f"{args.output}: cannot write: {problem}")
    cwd = os.getcwd()
    try:
        scanner, _, _ = _scanner(args, cwd)
        result = scanner(None)
    except ConfigError as exc:
        return _fail(str(exc))
    _nothing_found(args, result)
    from imds_iac_checks.report import readiness

    model = readiness.build(result)
    if args.format == "html":
        from imds_iac_checks.report import readiness_html

        writer = readiness_html.write
    else:
        writer = readiness.write_json if args.format == "json" else readiness.write_markdown
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="\n") as out:
                writer(model, out)
        except OSError as exc:
            return _fail(f"{args.output}: cannot write: {exc.strerror or exc}")
    else:
        writer(model, sys.stdout)
    _errors_to_stderr(result)
    return EXIT_ERROR if result.errors else EXIT_OK


def _plugin_path(args: Namespace) -> int:
    name = {"checkov": "checkov", "cfn-lint": "cfn_lint"}[args.tool]
    here = os.path.dirname(os.path.abspath(__file__))
    sys.stdout.write(os.path.join(here, "adapters", name) + "\n")
    return EXIT_OK


def _scp(args: Namespace) -> int:
    """``imds-iac scp``: print the guardrail policies (guardrails.py). Exit 0 once printed, 2 on
    a usage error or a policy over the size limit (nothing is printed then)."""
    from imds_iac_checks import guardrails
    from imds_iac_checks.config import ConfigError, Overrides, Resolver, Settings, check_hop_limit

    try:
        if args.config is not None and not os.path.exists(args.config):
            raise ConfigError(
                f"{args.config}: cannot read configuration: no such file or directory"
            )
        # as check reads it: the configuration found from the working directory
        settings: Settings | None = None
        notes: list[str] = []
        if args.hop_limit is not None:
            hop = check_hop_limit(args.hop_limit, "--hop-limit")
            try:  # only to compare its per-path hop limits with --hop-limit
                settings = Resolver(Overrides(), args.config).for_dir(os.getcwd())
            except ConfigError as exc:
                notes.append(f"per-path hop limits not compared with --hop-limit: {exc}")
        else:
            settings = Resolver(Overrides(), args.config).for_dir(os.getcwd())
            hop = settings.hop_limit
        per_path_hops: tuple[tuple[str, str, int], ...] = ()
        if settings is not None:
            per_path_hops = tuple(
                (_config_shown(settings.source), o.glob.pattern, o.hop_limit)
                for o in settings.per_path
                if o.hop_limit is not None
            )
        if args.size_limit < 1:
            raise ConfigError(
                f"--size-limit: expected a number of characters, not {args.size_limit}"
            )
        given = _flatten(args.statement)
        request = guardrails.Request(
            statements=guardrails.parse_statements(
                guardrails.DEFAULT_STATEMENTS if given is None else given
            ),
            hop_limit=hop,
            split=args.split,
            format=args.format,
            # each once, in the order given
            targets=tuple(dict.fromkeys(guardrails.check_target(t) for t in args.target)),
            exempt=tuple(dict.fromkeys(guardrails.check_principal(p) for p in args.exempt)),
            size_limit=args.size_limit,
            minify=args.minify,
            declarative=args.declarative,
            notes=notes,
            per_path_hops=per_path_hops,
        )
        policies = guardrails.build(request)
    except (ConfigError, guardrails.GuardrailError) as exc:
        return _fail(str(exc))
    sys.stdout.write(guardrails.render(policies, request))
    if not args.quiet:
        for text in [*request.notes, *guardrails.warnings(request)]:
            sys.stderr.write(f"imds-iac: warning: {text}\n")
    return EXIT_OK


def _config_shown(source: str | None) -> str:
    """A configuration file as a warning (and a generated file's comment) names it: relative to
    the working directory."""
    if source is None:
        return "the configuration"
    try:
        shown = os.path.relpath(source)
    except ValueError:  # another drive
        shown = source
    if shown.isprintable():
        return shown
    import json

    return json.dumps(shown)


def _rules(args: Namespace) -> int:
    from imds_iac_checks import catalog

    rules = catalog.load()
    if args.rule:
        from imds_iac_checks.rules import by_name

        named = by_name(args.rule.strip().lower())
        rule = rules.get(named.id if named is not None else args.rule.strip().upper())
        if rule is None:
            return _fail(f"unknown rule {args.rule!r} (rules: {', '.join(rules)})")
        if args.format == "json":
            import json

            sys.stdout.write(json.dumps(rule, indent=2) + "\n")
        elif args.format == "markdown":
            sys.stdout.write(catalog.render_markdown(rule))
        else:
            sys.stdout.write(catalog.render_text(rule))
        return EXIT_OK
    if args.format == "json":
        import json

        listing = [
            {k: r[k] for k in ("id", "name", "title", "severity", "summary")}
            for r in rules.values()
        ]
        sys.stdout.write(json.dumps(listing, indent=2) + "\n")
        return EXIT_OK
    if args.format == "markdown":
        sys.stdout.write("| Rule | Name | Severity | Title |\n|---|---|---|---|\n")
        for r in rules.values():
            sys.stdout.write(f"| {r['id']} | {r['name']} | {r['severity']} | {r['title']} |\n")
        return EXIT_OK
    width = max(len(r["name"]) for r in rules.values())
    for r in rules.values():
        sys.stdout.write(f"{r['id']}  {r['severity']:<7}  {r['name']:<{width}}  {r['title']}\n")
    return EXIT_OK


# The reader of standard output went away (``imds-iac check | head -1``): the report was not
# delivered, so the exit code is the one for "could not do the job" (the documented codes are
# 0, 1 and 2 only; ``cat`` and ``git`` would die of SIGPIPE, 141, instead), and nothing is printed.
EXIT_BROKEN_PIPE = 2


class _ClosedStream:
    """Stands for a standard stream that was closed before we started (``>&-``): Python then
    sets ``sys.stdout`` to None. Writing to it is an error, as it is for ``ls >&-``; a closed
    standard error swallows what is written (nobody is there to read it)."""

    def __init__(self, name: str, *, fail: bool) -> None:
        self.name, self.fail = name, fail

    def write(self, text: str) -> int:
        if self.fail:
            import errno

            raise OSError(errno.EBADF, "it is closed")
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        import io

        raise io.UnsupportedOperation("closed standard stream")


def _standard_streams() -> None:
    if sys.stdout is None:
        sys.stdout = _ClosedStream("standard output", fail=True)
    if sys.stderr is None:
        sys.stderr = _ClosedStream("standard error", fail=False)


def _silence_stdout() -> None:
    """The reader of standard output went away: send what is still buffered to /dev/null, so
    that the flush at exit does not fail (and print a traceback) again."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _run(argv: Sequence[str] | None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command is None:
        _build_parser().print_help(sys.stderr)
        return EXIT_ERROR
    if args.command in ("check", "fix"):
        problem = _usage_error(args)
        if problem is not None:
            return _fail(problem)
    if args.command == "check" and not (args.fix or args.diff):
        code = _check(args)
    elif args.command in ("check", "fix"):  # ``check --fix`` is ``fix``, as in ruff
        code = _fix(args)
    elif args.command == "report":
        code = _report_command(args)
    elif args.command == "plugin-path":
        code = _plugin_path(args)
    elif args.command == "scp":
        code = _scp(args)
    else:
        code = _rules(args)
    sys.stdout.flush()  # here, not at exit: a write error is reported like any other
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The ``imds-iac`` command. Never a traceback: errors are ``imds-iac: error: ...`` and exit
    2; an unexpected exception is an internal error (``IMDS_IAC_DEBUG=1`` shows its traceback)."""
    _standard_streams()
    try:
        return _run(argv)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``imds-iac check | head``): quiet, as other tools are.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # an unexpected I/O failure: a message, not a traceback
        if _debug():
            raise
        if exc.filename is None and (_write_error(exc) or not _flushes()):
            # Standard output: a full disk (> /dev/full), a descriptor not open for writing.
            _silence_stdout()
            return _fail(f"cannot write to standard output: {exc.strerror or exc}")
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    except Exception as exc:  # a bug of ours (RecursionError and MemoryError included)
        if _debug():
            raise
        return _internal_error(exc)


def _write_error(exc: OSError) -> bool:
    """An error of a write to standard output? (Files we read or write name themselves.)"""
    import errno

    names = ("EIO", "EBADF", "EFBIG", "ENOSPC", "EDQUOT")
    return exc.errno in {getattr(errno, name, None) for name in names}


def _flushes() -> bool:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        return False
    return True


def _debug() -> bool:
    return os.environ.get("IMDS_IAC_DEBUG", "") not in ("", "0")


def _internal_error(exc: BaseException) -> int:
    """One line for a bug of ours (no traceback unless IMDS_IAC_DEBUG=1), exit 2."""
    detail = " ".join(str(exc).split())
    if len(detail) > 200:
        detail = detail[:197] + "..."
    from imds_iac_checks.report.escape import escape

    detail = escape(detail)
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(
            f"imds-iac: internal error: {type(exc).__name__}"
            f"{': ' + detail if detail else ''} (please report this; "
            "IMDS_IAC_DEBUG=1 shows the traceback)\n"
        )
        sys.stderr.flush()
    return EXIT_ERROR
