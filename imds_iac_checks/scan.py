"""Orchestration: paths -> files -> Targets (adapters) -> Findings (engine).

This module picks the adapter for each file (by :data:`imds_iac_checks.formats.FILE_KINDS`: a
.tf file with the other .tf files of its directory, see formats/terraform/graph.py; a JSON or
YAML file on its own, formats/data.py) and imports it only when a file needs it.
"""

import os
import posixpath
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from imds_iac_checks import source
from imds_iac_checks.config import Resolver, Settings
from imds_iac_checks.engine import Context, evaluate
from imds_iac_checks.formats import FILE_KINDS, scanned_kind
from imds_iac_checks.link import link
from imds_iac_checks.model import (
    DISABLED,
    ENDPOINT,
    POLICY_MARKERS,
    REQUIRED,
    SEVERITY_RANK,
    TOKENS,
    Finding,
    Hazard,
    Host,
    Payload,
    Policy,
    ScanError,
    Span,
    Target,
    default_setting,
)
from imds_iac_checks.rules import REGISTRY, auditors, internal_error
from imds_iac_checks.source import display_path, too_big

if TYPE_CHECKING:
    from imds_iac_checks.formats.terraform.graph import Reach, TfFile

# Directories never walked into (explicitly named paths are still scanned).
SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", ".terragrunt-cache", "__pycache__"})


class ScanResult(NamedTuple):
    findings: list[Finding]
    errors: list[ScanError]
    files: int
    targets: int
    fail_on: str
    # The target each finding was found on (what the fixer needs to build an edit).
    origins: dict[Finding, tuple[Target, Context]] | None = None
    # Every target evaluated (linked, with ``blocked_by`` set), those without findings too: what
    # ``imds-iac report`` counts as secure.
    targets_seen: tuple[Target, ...] = ()
    # The guardrail policy documents read (SCPs, IAM policies that name an IMDS key; those of
    # files the configuration does not exclude), by path and place: what the rules with a
    # ``policy`` check judged, what the summaries count, what ``imds-iac report`` lists as the
    # repository's guardrails; and the paths of those no rule that judges policies is enabled
    # for (their findings say nothing).
    policies: tuple[Policy, ...] = ()
    unjudged: frozenset[str] = frozenset()


class DataJob(NamedTuple):
    """A JSON or YAML file to scan: its path, the path findings show, its settings."""

    path: str
    shown: str
    settings: Settings


# Hidden directories that hold files imds-iac reads (formats.FILE_KINDS ``directory``): walked.
_READ_HIDDEN = frozenset(kind.directory for kind in FILE_KINDS if kind.directory)


def _hidden(name: str) -> bool:
    return name.startswith(".") and name not in (".", "..") and name not in _READ_HIDDEN


def _cloud_assembly(directory: str, files: list[str]) -> bool:
    """Whether a directory is a CDK cloud assembly (``cdk synth``'s output, ``cdk.out`` or the
    ``--output`` it was given): its templates are read, its ``asset.*`` directories (the
    bundled Lambda code, Docker contexts and files CDK copies there) are not walked — their
    sources are scanned where they are written."""
    return os.path.basename(directory) == "cdk.out" or (
        "manifest.json" in files and "cdk.out" in files
    )


def discover(
    paths: list[str],
    resolver: Resolver,
    errors: list[ScanError],
    *,
    skip: Collection[str] = (),
    virtual: Collection[str] = (),
    budget: list[int] | None = None,
) -> Iterator[tuple[str, Settings]]:
    """Yield ``(file, settings)`` for every file to scan, in a deterministic order.

    Directories are walked in sorted order, skipping ``SKIP_DIRS``, hidden directories (but
    ``.ebextensions``, whose ``.config`` files are read), the ``asset.*`` directories of a CDK
    cloud assembly and excluded paths. A file named
    explicitly is scanned when an adapter supports its name, unless excluded. A path that does
    not exist is an error, unless ``virtual`` (absolute paths) holds it: a
    file read from standard input. Files whose real path ``skip`` holds (imds-iac's own
    baseline and report) are never scanned. ``budget`` (``[n]``): the walk stops once it has
    listed ``n`` directory entries (``budget[0]`` is then negative).
    """
    seen: set[str] = set(skip)  # real paths: a file and a link to it are scanned once
    for given in paths:
        if not os.path.exists(given) and os.path.abspath(given) not in virtual:
            errors.append(ScanError(given, 0, 0, _missing(given)))
            continue
        if not os.path.isdir(given):
            absolute = os.path.abspath(given)
            settings = resolver.for_path(absolute)
            real = os.path.realpath(given) if os.path.islink(given) else absolute
            if skip and os.path.realpath(given) in skip:
                continue
            if real not in seen and scanned_kind(given) and not settings.excluded(absolute):
                seen.add(real)
                yield given, settings
            continue
        tree = os.path.realpath(given)
        for root, dirs, files in os.walk(given, onerror=lambda e: _walk_error(e, errors)):
            if budget is not None:
                budget[0] -= len(dirs) + len(files)
                if budget[0] < 0:
                    return
            settings = resolver.for_dir(root)
            # Directory links are not followed, so below the tree's real path a file's real
            # path is its path: realpath (an lstat per path component) is for links only.
            real_root = tree + root[len(given) :] if root.startswith(given) else root
            keep = []
            assembly = _cloud_assembly(root, files)
            for d in sorted(dirs):
                if d in SKIP_DIRS or _hidden(d):
                    continue
                if assembly and d.startswith("asset."):
                    continue  # a CDK asset (a Lambda bundle, a Docker context): generated
                full = os.path.join(root, d)
                if settings.excluded(os.path.abspath(full)):
                    continue
                if os.path.islink(full):
                    # Not followed (its target, when inside the tree, is scanned where it is):
                    # a loop or a way out of the tree is said, never silently skipped.
                    real = os.path.realpath(full)
                    if real == tree or tree.startswith(real + os.sep):
                        errors.append(ScanError(_norm(full), 0, 0, _LOOP))
                    elif not _inside(real, tree):
                        errors.append(ScanError(_norm(full), 0, 0, _OUTSIDE_DIR))
                    continue
                keep.append(d)
            dirs[:] = keep
            for name in sorted(files):
                full = os.path.join(root, name)
                if scanned_kind(full) is None:
                    continue
                absolute = os.path.abspath(full)
                if settings.excluded(absolute):
                    continue
                if os.path.islink(full):
                    real = os.path.realpath(full)
                    if not os.path.exists(full):
                        errors.append(ScanError(_norm(full), 0, 0, _missing(full)))
                        continue
                    if not _inside(real, tree):
                        errors.append(ScanError(_norm(full), 0, 0, _OUTSIDE_FILE))
                        continue
                else:
                    real = os.path.normpath(os.path.join(real_root, name))
                if real in seen:
                    continue
                seen.add(real)
                yield full, settings


_LOOP = "not followed: symbolic link loop"
_OUTSIDE_DIR = "not followed: symbolic link to a directory outside the scanned tree"
_OUTSIDE_FILE = "skipped: symbolic link to a file outside the scanned tree"


def _inside(real: str, tree: str) -> bool:
    return real == tree or real.startswith(tree.rstrip(os.sep) + os.sep)


def _norm(path: str) -> str:
    return os.path.normpath(path).replace(os.sep, "/")


def _missing(path: str) -> str:
    """Why a path cannot be opened: missing, a broken link or a link loop."""
    if not os.path.islink(path):
        return "no such file or directory"
    try:
        os.stat(path)
    except OSError as exc:
        import errno

        if exc.errno == errno.ELOOP:
            return "cannot read: symbolic link loop"
        return "cannot read: broken symbolic link"
    return "no such file or directory"


def _walk_error(exc: OSError, errors: list[ScanError]) -> None:
    errors.append(ScanError(exc.filename or "?", 0, 0, exc.strerror or str(exc)))


def scan(
    paths: list[str],
    resolver: Resolver,
    cwd: str | None = None,
    *,
    variables: Sequence[tuple[str, str]] = (),
    env_variables: Mapping[str, str] | None = None,
    cfn_parameters: dict[str, str] | None = None,
    files: source.Files | None = None,
    skip: Collection[str] = (),
) -> ScanResult:
    """Scan ``paths``. ``files`` reads every file (default: from disk, within the resolver's
    size limit): the fixer passes one with an overlay of its edits or a record of what is
    read; a file only the overlay holds is scanned as if it were on disk (standard input).
    ``skip``: real paths of files never scanned (the baseline and report being used).
    ``variables``: Terraform's ``("--var", "NAME=VALUE")`` and ``("--var-file", PATH)`` in
    command-line order; ``env_variables``: ``TF_VAR_name`` values by name (the caller reads the
    environment: the scan does not); ``cfn_parameters``: CloudFormation parameter values (a
    :class:`~imds_iac_checks.model.Parameters` says where each was given)."""
    files = source.Files(resolver.size_limit) if files is None else files.under(resolver.size_limit)
    cwd = os.path.abspath(cwd or os.getcwd())
    findings: list[Finding] = []
    errors: list[ScanError] = []
    file_count = targets = 0
    first = resolver.for_path(paths[0]) if paths else resolver.for_dir(cwd)
    fail_on, max_size = first.fail_on, first.max_file_size
    # Targets are linked (launch-template inheritance) within a Terraform module directory or a
    # CloudFormation stack before the rules run, so they are grouped first.
    # The key: (format, directory or file, Terraform module address or None for a data file, the
    # module calls the targets were made through).
    groups: dict[
        tuple[str, str, str | None, tuple[Span, ...]], list[tuple[Target, Context, tuple[str, ...]]]
    ] = {}
    modules: dict[str, list[TfFile]] = {}  # directory -> its .tf files to scan
    file_settings: dict[str, tuple[Context, tuple[str, ...]]] = {}
    data_jobs: list[DataJob] = []  # JSON and YAML files
    unit_files: list[tuple[str, str]] = []  # Terragrunt units (terragrunt.hcl): path, shown
    from imds_iac_checks.formats.terraform import graph

    # Files named one by one (as pre-commit passes them): .tf and variable files are evaluated
    # in the module graphs that reach them (see _named_targets), the rest as when walked.
    named = Named()
    paths, named.var_files = _variable_files(paths, resolver, cwd, files.overlay)
    paths, named.packer = _packer_named(paths, resolver, cwd, files.overlay)
    file_count += sum(1 for shown in named.packer.values() for s in shown if ".pkrvars." in s)
    explicit = {
        p
        for p in paths
        if (os.path.exists(p) or os.path.abspath(p) in files.overlay) and not os.path.isdir(p)
    }
    file_count += len(named.var_files)
    for path, settings in discover(paths, resolver, errors, skip=skip, virtual=files.overlay):
        kind = scanned_kind(path)
        assert kind is not None
        shown = display_path(path, cwd)
        if kind.reads_as == "terragrunt":
            absolute = os.path.abspath(path)
            file_count += 1
            unit_files.append((path, shown))
            file_settings[shown] = (
                Context(hop_limit=settings.hop_limit_for(absolute)),
                settings.rules_for(absolute),
            )
            continue
        if kind.reads_as == "terraform":
            absolute = os.path.abspath(path)
            file_count += 1
            listing = named.modules if path in explicit else modules
            listing.setdefault(os.path.dirname(absolute), []).append(graph.TfFile(path, shown))
            file_settings[shown] = (
                Context(hop_limit=settings.hop_limit_for(absolute)),
                settings.rules_for(absolute),
            )
            continue
        try:
            over = too_big(path, shown, settings.max_file_size, files)
        except OSError as exc:
            errors.append(ScanError(shown, 0, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        if over is not None:
            errors.append(over)
            continue
        data_jobs.append(DataJob(path, shown, settings))
    # Module calls are found in the bytes before any parse; the bytes are kept for the parse
    # (and a forked worker inherits them), so each file is read once.
    callers = graph.count_callers(modules, files)
    # Guardrail policies in the Terraform directories (read while their bytes are at hand).
    policies, policy_targets = _terraform_policies(modules, named.modules, files, errors)
    # Terragrunt units first: the module a unit names is evaluated with the unit's inputs, and
    # a scanned directory that a unit evaluates is not evaluated again as a root of its own.
    unit_found: list[Target] = []
    unit_reached: set[str] = set()
    if unit_files:
        unit_found, unit_reached = _terragrunt_units(
            unit_files, callers, cwd, variables, env_variables, errors, max_size, files
        )
    # The variable files each root module loads (terraform.tfvars, *.auto.tfvars) and those
    # given with --var-file are read too: they count as scanned (findings may point into them).
    from imds_iac_checks.formats.terraform.module import tfvars_files

    file_count += sum(len(tfvars_files(d)) for d in modules if not callers.get(d))
    file_count += len({os.path.realpath(p) for flag, p in variables if flag == "--var-file"})
    pool = _pool(len(modules), len(data_jobs), files)
    try:
        if pool is None:
            parsed = [_parse_data(job.path, job.shown, cfn_parameters, files) for job in data_jobs]
            found = list(
                graph.targets(
                    modules,
                    cwd,
                    variables,
                    errors,
                    environment=env_variables,
                    callers=callers,
                    max_size=max_size,
                    files=files,
                    reached=set(unit_reached),
                )
            )
        else:
            parsed, found = _in_parallel(
                pool,
                data_jobs,
                cfn_parameters,
                modules,
                cwd,
                variables,
                env_variables or {},
                errors,
                max_size,
                callers,
                files,
                frozenset(unit_reached),
            )
        found = unit_found + found
    finally:
        files.forget_ahead()
    named_found: list[tuple[int, Target]] = []
    if named.modules or named.var_files:
        named_found = _named_targets(
            named, resolver, cwd, variables, env_variables, errors, max_size, files
        )
    if named.packer:
        named_found += _packer_named_targets(named, cwd, errors, files)
    # The files whose imds-iac suppressions are judged (shown path -> the rules enabled there):
    # those asked for, read whole, that found targets (data files) or whose module is complete
    # (a .tf file named without its siblings was not evaluated with their resources).
    audited: dict[str, tuple[str, ...]] = {}
    for directory, tf_files in modules.items():
        if _complete(directory, tf_files):
            for tf in tf_files:
                audited[tf.shown] = file_settings[tf.shown][1]
    for job, result in zip(data_jobs, parsed, strict=True):
        errors.extend(result.errors)
        file_count += result.read
        absolute = os.path.abspath(job.path)
        rules = job.settings.rules_for(absolute)
        if result.targets or result.policies:  # a policy document: its comments too
            audited[job.shown] = rules
        ctx = Context(hop_limit=job.settings.hop_limit_for(absolute))
        for target in result.targets:
            targets += 1
            scope = os.path.dirname(absolute) if target.format == "terraform" else absolute
            groups.setdefault((target.format, scope, None, ()), []).append((target, ctx, rules))
    for result in parsed:
        policies += result.policies
    found += policy_targets
    for target in found:
        shown = target.path
        known = file_settings.get(shown)
        if known is None and os.path.dirname(os.path.abspath(os.path.join(cwd, shown))) in modules:
            continue  # a sibling of the files named, read for its variables: not asked for
        if known is None:  # a file of a called module outside the scanned paths
            absolute = os.path.abspath(os.path.join(cwd, shown))
            settings = resolver.for_path(absolute)
            if settings.excluded(absolute):
                continue
            known = file_settings[shown] = (
                Context(hop_limit=settings.hop_limit_for(absolute)),
                settings.rules_for(absolute),
            )
        targets += 1
        ctx, rules = known
        directory = os.path.dirname(os.path.abspath(os.path.join(cwd, shown)))
        module_path = target.address[: target.address.rfind(target.kind + ".")]
        # A module reached from several roots (or calls) is linked once per call chain: one
        # root's launch template is never another root's.
        key = (target.format, directory, module_path, target.module_calls)
        groups.setdefault(key, []).append((target, ctx, rules))
    origins: dict[Finding, tuple[Target, Context]] = {}
    by_file: dict[str, list[Target]] = {}
    hazards: list[Hazard] = [h for result in parsed for h in result.hazards]
    # Every group is linked and its user data read before any rule runs: the account's
    # defaults are judged knowing the code on every instance that takes them.
    prepared = [(members, _link_group(members, errors, hazards)) for members in groups.values()]
    blocked = _defaults_blocked(hazards)
    for members, linked in prepared:
        linked = _block_defaults(linked, blocked)
        for target, ctx, finding in _judge_group(members, linked, by_file):
            findings.append(finding)
            origins.setdefault(finding, (target, ctx))
    if named_found:
        targets += _evaluate_named(
            named, named_found, resolver, cwd, findings, origins, errors, by_file, hazards
        )
        # A named .tf file was evaluated with its whole module, through the roots that reach
        # it, and every finding a suppression in it can cover is tied to it: it is judged.
        for tf_files in named.modules.values():
            for tf in tf_files:
                audited[tf.shown] = file_settings[tf.shown][1]
    if hazards:
        findings += _judge_hazards(hazards, resolver, cwd)
    judged: dict[Finding, Policy] = {}
    if policies:
        judged = _judge_policies(policies, resolver, cwd)
        findings += judged
    reached = call_chains(
        [*found, *(target for _, target in named_found)] if named_found else found
    )
    findings = merge_instances(findings, origins, reached)
    used: set[tuple[str, int]] = set()
    if findings:
        from imds_iac_checks import suppress

        findings = suppress.apply(findings, origins, cwd, files, used, judged)
    failed = {e.path for e in errors}
    audited = {path: rules for path, rules in audited.items() if path not in failed}
    if audited and auditors():
        from imds_iac_checks import suppress

        findings += suppress.audit(audited, by_file, used, cwd, files)
    findings, origins = _configured_severities(findings, origins, resolver, cwd)
    findings.sort(key=lambda f: (f.path, f.span.line, f.span.column, f.rule_id))
    errors = sorted(set(errors), key=lambda e: (e.path, e.line, e.column, e.message))
    seen = tuple(target for listing in by_file.values() for target in listing)
    read, unjudged = _policies_read(policies, resolver, cwd)
    return ScanResult(findings, errors, file_count, targets, fail_on, origins, seen, read, unjudged)


def _policies_read(
    policies: list[Policy], resolver: Resolver, cwd: str
) -> tuple[tuple[Policy, ...], frozenset[str]]:
    """The policies of files the configuration does not exclude, in order, and the paths of
    those that no rule judging policies is enabled for (``--ignore``, a per-path ``ignore``)."""
    read: list[Policy] = []
    unjudged: set[str] = set()
    for policy in policies:
        setting = _path_settings(resolver, cwd, policy.path)
        if setting is None:
            continue
        read.append(policy)
        enabled = (REGISTRY.get(rule_id) for rule_id in setting[1])
        if not any(rule is not None and rule.policy is not None for rule in enabled):
            unjudged.add(policy.path)
    read.sort(key=lambda p: (p.path, p.span.start_byte, p.address))
    return tuple(read), frozenset(unjudged)


def _configured_severities(
    findings: list[Finding],
    origins: dict[Finding, tuple[Target, Context]],
    resolver: Resolver,
    cwd: str,
) -> tuple[list[Finding], dict[Finding, tuple[Target, Context]]]:
    """The findings with the severity the configuration that applies to each one's file sets
    for its rule (``severity``, per-path ``severity``, ``--severity``): before the exit code
    and every report see them."""
    changed: dict[Finding, Finding] = {}
    by_path: dict[str, Settings] = {}
    for f in findings:
        settings = by_path.get(f.path)
        if settings is None:
            settings = by_path[f.path] = resolver.for_path(os.path.join(cwd, f.path))
        if not settings.sets_severity:
            continue
        level = settings.severity_for(os.path.abspath(os.path.join(cwd, f.path)), f.rule_id)
        if level is not None and level != f.severity:
            changed[f] = f._replace(severity=level)
    if not changed:
        return findings, origins
    for old, new in changed.items():
        if old in origins:
            origins[new] = origins[old]
    return [changed.get(f, f) for f in findings], origins


def _terragrunt_units(
    unit_files: list[tuple[str, str]],
    callers: dict[str, int],
    cwd: str,
    variables: Sequence[tuple[str, str]],
    env_variables: Mapping[str, str] | None,
    errors: list[ScanError],
    max_size: int,
    files: source.Files,
) -> tuple[list[Target], set[str]]:
    """The targets of Terragrunt units (see formats/terraform/terragrunt.py), each unit's module
    evaluated as a root with the unit's inputs, or an IMDS004 target saying why it was not; and
    the directories evaluated. Each directory a unit evaluates counts as called (``callers``):
    it is not a root of its own."""
    from imds_iac_checks.formats.terraform import graph, terragrunt

    found: list[Target] = []
    roots: list[tuple[str, dict[str, Any], Any]] = []
    for path, shown in unit_files:
        try:
            unit, errs = terragrunt.read_unit(path, shown, cwd, files, max_size)
        except Exception as exc:  # a defect costs this unit, not the scan
            errors.append(ScanError(shown, 0, 0, f"internal error: {type(exc).__name__}: {exc}"))
            continue
        errors.extend(errs)
        if unit is None:
            continue
        if unit.problem is not None:
            found.append(unit.problem)
        if unit.directory is not None:
            roots.append((unit.directory, unit.inputs, unit.rest))
            callers[unit.directory] = callers.get(unit.directory, 0) + 1
    reached: set[str] = set()
    if roots:
        found += graph.targets(
            {},
            cwd,
            variables,
            errors,
            environment=env_variables,
            roots=[],
            reached=reached,
            callers={},
            max_size=max_size,
            files=files,
            units=roots,
        )
    return found, reached


def _evaluate_group(
    members: list[tuple[Target, Context, tuple[str, ...]]],
    errors: list[ScanError],
    by_file: dict[str, list[Target]] | None = None,
    hazards: list[Hazard] | None = None,
) -> Iterator[tuple[Target, Context, Finding]]:
    """The findings of a group of targets linked together (launch-template inheritance), each
    with the linked target and its context; ``by_file`` collects the linked targets by path,
    ``hazards`` what breaks in their user data when IMDSv2 is required (before the rules run,
    each target whose instances run such code learns where: ``Target.blocked_by``)."""
    linked = _link_group(members, errors, hazards)
    yield from _judge_group(members, linked, by_file)


def _link_group(
    members: list[tuple[Target, Context, tuple[str, ...]]],
    errors: list[ScanError],
    hazards: list[Hazard] | None = None,
) -> list[Target]:
    """The targets of a group, linked (launch-template inheritance), with the hazards in their
    user data added to ``hazards`` and ``blocked_by`` set where their instances would break."""
    unlinked = [target for target, _, _ in members]
    try:
        linked = link(unlinked)
    except Exception as exc:  # a defect costs this group its linking, not the scan
        linked = unlinked
        message = f"internal error while linking launch templates: {type(exc).__name__}: {exc}"
        where = unlinked[0].span
        errors.append(ScanError(unlinked[0].path, where.line, where.column, message))
    if any(target.user_data for target in linked):
        linked = _user_data_hazards(linked, errors, hazards)
    return linked


def _judge_group(
    members: list[tuple[Target, Context, tuple[str, ...]]],
    linked: list[Target],
    by_file: dict[str, list[Target]] | None = None,
) -> Iterator[tuple[Target, Context, Finding]]:
    """The findings of the rules on a linked group (see :func:`_evaluate_group`)."""
    for target, (_, ctx, rules) in zip(linked, members, strict=True):
        if by_file is not None:
            by_file.setdefault(target.path, []).append(target)
        chain = (_chain(target),) if target.module_calls else ()
        for finding in evaluate(target, ctx, rules):
            # Its call chain tells apart the same finding from two roots (see merge_instances).
            yield target, ctx, finding._replace(roots=chain) if chain else finding


def _defaults_blocked(hazards: Iterable[Hazard]) -> tuple[str, ...]:
    """Where code runs on instances that take the account's default for tokens (they set none,
    nor does a template they launch from): requiring tokens in the account's defaults would
    break it there (``file:line`` of each hazard)."""
    out: list[str] = []
    for hazard in hazards:
        if any(host.defaulted for host in hazard.hosts):
            at = f"{hazard.span.path}:{hazard.span.line}"
            if at not in out:
                out.append(at)
    return tuple(out)


def _block_defaults(linked: list[Target], blocked: tuple[str, ...]) -> list[Target]:
    """The account-defaults targets of a group learn where requiring tokens would break code."""
    if not blocked or not any(t.spec.account_default for t in linked):
        return linked
    return [
        t._replace(blocked_by=tuple(dict.fromkeys((*t.blocked_by, *blocked))))
        if t.spec.account_default
        else t
        for t in linked
    ]


def _user_data_hazards(
    targets: list[Target], errors: list[ScanError], out: list[Hazard] | None
) -> list[Target]:
    """The hazards in the user data of a linked group's targets, each tied to the instances it
    runs on (the target whose user data it is, and those that launch from it), added to
    ``out``; the targets, with ``blocked_by`` set on those whose instances would break."""
    by_address = {target.address: target for target in targets}
    blocked: dict[str, list[str]] = {}
    for target in targets:
        if not target.user_data:
            continue
        hosts = [_host(target, by_address)]
        hosts += [_host(by_address[u], by_address) for u in target.used_by if u in by_address]
        for payload in target.user_data:
            try:
                found = list(hazards_of(payload, hosts))
            except Exception as exc:  # an analyser bug costs this payload, not the scan
                where = payload.span
                message = f"internal error while reading user data: {type(exc).__name__}: {exc}"
                errors.append(ScanError(where.path, where.line, where.column, message))
                continue
            if out is not None:
                out.extend(found)
            for hazard in found:
                at = f"{hazard.span.path}:{hazard.span.line}"
                for host in hosts:
                    names = blocked.setdefault(host.address, [])
                    if at not in names:
                        names.append(at)
    if not blocked:
        return targets
    return [
        t._replace(blocked_by=tuple(blocked[t.address])) if t.address in blocked else t
        for t in targets
    ]


def _host(target: Target, by_address: dict[str, Target]) -> Host:
    """``target`` as a host of code: whether its instances require tokens — from its own
    settings, or the launch template's it inherits when it sets none."""
    settings = target.settings
    if target.inherits_from and (TOKENS not in settings or ENDPOINT not in settings):
        # What it does not set itself comes from the template it launches from.
        template = by_address.get(target.inherits_from)
        if template is not None:
            settings = {**template.settings, **settings}
    state = host_state(target, settings)
    # No tokens setting anywhere it could be written: the account's default decides (unless
    # the tool that deploys it sends its own: Packer sends optional tokens).
    defaulted = state == "allowed" and TOKENS not in settings and ENDPOINT not in settings
    defaulted = defaulted and default_setting(target, TOKENS) is None
    return Host(target.address, target.header, state, defaulted and bool(target.spec.fields))


def host_state(target: Target, settings: dict[str, tuple[Any, ...]]) -> str:
    """ "disabled" when every value of the endpoint is disabled, "required" when every value of
    tokens is required, "unknown" when one cannot be evaluated, else "allowed" (IMDSv1
    answers; a kind whose tokens are not written allows it)."""
    endpoint = settings.get(ENDPOINT, ())
    if endpoint and all(v.known and v.value == DISABLED for v in endpoint):
        return "disabled"
    tokens = settings.get(TOKENS, ())
    if not tokens:
        if default_setting(target, TOKENS) == REQUIRED:
            return "required"  # the tool that deploys it requires tokens (Karpenter)
        unlinked = target.template_ref is not None and not target.inherits_from
        return "unknown" if target.unknown_block is not None or unlinked else "allowed"
    if all(v.known and v.value == REQUIRED for v in tokens):
        return "required"
    if any(not v.known for v in tokens):
        return "unknown"
    return "allowed"


# --- files named one by one ------------------------------------------------------------------
#
# pre-commit passes the changed files. A .tf file is part of a module, and what its module
# deploys depends on the roots that call it; a variable file is read by a root. So a named .tf
# file is evaluated in every root module of the working tree that reaches its module through
# local module calls (found by Reach, within its bound), or as a root itself when none does; an
# automatically loaded variable file (terraform.tfvars, *.auto.tfvars) with the root of its
# directory; any other .tfvars file as a -var-file of the root in its directory or, if that has
# no .tf file, its parent (env/prod.tfvars). The walk follows only the module calls on the way to
# a named file's module (and everything below it). A finding is reported when it is tied to a
# named file: its location, its resource, a link of its value's provenance or a module call it
# was made through lies in one.


class Named:
    """The Terraform files named one by one: .tf files by directory, variable files."""

    __slots__ = ("modules", "packer", "var_files")

    def __init__(self) -> None:
        self.modules: dict[str, list[TfFile]] = {}
        self.var_files: list[tuple[str, str]] = []  # (path, shown)
        # Packer: a template directory (absolute) -> the files named in it (shown paths): a
        # .pkr.hcl or variable file is evaluated with the templates of its directory.
        self.packer: dict[str, set[str]] = {}

    def ties(self) -> dict[int, set[str]]:
        """For each evaluation (see _named_targets), the named files its findings are
        reported for (shown paths)."""
        shown = {file.shown for listing in self.modules.values() for file in listing}
        out = {0: shown}
        for i, (path, name) in enumerate(self.var_files):
            if _auto_loaded(os.path.basename(path)):
                shown.add(name)
            else:
                out[1 + i] = {name}
        for j, directory in enumerate(sorted(self.packer)):
            out[self.packer_evaluation(j)] = self.packer[directory]
        return out

    def packer_evaluation(self, index: int) -> int:
        """The evaluation number of the ``index``-th Packer directory (after Terraform's)."""
        return 1 + len(self.var_files) + index


def _variable_files(
    paths: list[str], resolver: Resolver, cwd: str, virtual: Collection[str]
) -> tuple[list[str], list[tuple[str, str]]]:
    """``paths`` without the variable files named (``.tfvars``, ``.tfvars.json``), and those
    files: a missing one stays in ``paths`` (to be reported as missing), an excluded one is
    dropped. ``virtual``: absolute paths of files read from standard input."""
    rest: list[str] = []
    found: list[tuple[str, str]] = []
    for path in paths:
        exists = os.path.isfile(path) or os.path.abspath(path) in virtual
        if not path.lower().endswith(_VARIABLE_FILES) or not exists:
            rest.append(path)
            continue
        absolute = os.path.abspath(path)
        if resolver.for_path(absolute).excluded(absolute):
            continue
        shown = display_path(path, cwd)
        if shown not in {s for _, s in found}:
            found.append((path, shown))
    return rest, found


_VARIABLE_FILES = (".tfvars", ".tfvars.json")
_PACKER_VARIABLES = (".pkrvars.hcl", ".pkrvars.json")


def _packer_named(
    paths: list[str], resolver: Resolver, cwd: str, virtual: Collection[str]
) -> tuple[list[str], dict[str, set[str]]]:
    """``paths`` without the Packer variable files named (read with their directory's
    templates), and each directory of a named Packer file (``.pkr.hcl``, variable file) with
    those files (shown paths): their directory's templates are evaluated for them."""
    rest: list[str] = []
    out: dict[str, set[str]] = {}
    for path in paths:
        lower = path.lower()
        exists = os.path.isfile(path) or os.path.abspath(path) in virtual
        variables = lower.endswith(_PACKER_VARIABLES)
        if not variables:
            rest.append(path)
        if not exists or not (variables or lower.endswith(".pkr.hcl")):
            continue
        absolute = os.path.abspath(path)
        if resolver.for_path(absolute).excluded(absolute):
            continue
        out.setdefault(os.path.dirname(absolute), set()).add(display_path(path, cwd))
    return rest, out


def _packer_named_targets(
    named: Named, cwd: str, errors: list[ScanError], files: source.Files
) -> list[tuple[int, Target]]:
    """The targets of the templates beside each named Packer file (see :func:`_packer_named`),
    each with its evaluation number: findings tied to a named file are reported."""
    from imds_iac_checks.formats import packer_targets

    out: list[tuple[int, Target]] = []
    for index, directory in enumerate(sorted(named.packer)):
        evaluation = named.packer_evaluation(index)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        names = [n for n in names if n.endswith(".pkr.hcl")][: packer_targets.MAX_SIBLINGS]
        # A named variable file Packer does not load by itself: read as -var-file would.
        given = tuple(
            (os.path.join(cwd, shown), shown)
            for shown in sorted(named.packer[directory])
            if shown.lower().endswith(_PACKER_VARIABLES) and ".auto." not in shown.lower()
        )
        for name in names:
            path = os.path.join(directory, name)
            shown = display_path(path, cwd)
            if shown in named.packer[directory]:
                continue  # scanned as a file of its own (its findings are reported)
            try:
                data = files.read(path)
            except OSError:
                continue  # reported by the template that reads it as a sibling
            if not packer_targets.worth(data):
                continue
            try:
                found, more = packer_targets.targets(
                    shown, data, origin=path, files=files, var_files=given
                )
            except Exception as exc:  # a defect costs this template, not the scan
                message = f"internal error while reading: {type(exc).__name__}: {exc}"
                errors.append(ScanError(shown, 0, 0, message))
                continue
            errors.extend(more)
            out += [(evaluation, target) for target in found]
    return out


def _auto_loaded(name: str) -> bool:
    """Whether Terraform loads a variable file of this name for the root of its directory."""
    return name in ("terraform.tfvars", "terraform.tfvars.json") or name.endswith(
        (".auto.tfvars", ".auto.tfvars.json")
    )


def _has_tf(directory: str) -> bool:
    try:
        return any(n.endswith(".tf") for n in os.listdir(directory))
    except OSError:
        return False


def _named_targets(
    named: Named,
    resolver: Resolver,
    cwd: str,
    variables: Sequence[tuple[str, str]],
    env_variables: Mapping[str, str] | None,
    errors: list[ScanError],
    max_size: int,
    files: source.Files,
) -> list[tuple[int, Target]]:
    """The targets of the module graphs that reach the named files, each with the number of
    the evaluation it comes from: 0 for the roots as Terraform loads them, 1 + i for the i-th
    named variable file that is not loaded automatically (evaluated as a -var-file of its root).
    Always serial: a pre-commit run names a few files."""
    from imds_iac_checks.formats.terraform import graph

    dirs = {d: list(listing) for d, listing in named.modules.items()}
    auto: set[str] = set()
    extra: list[tuple[int, str, str]] = []  # (evaluation, root directory, variable file)
    for i, (path, shown) in enumerate(named.var_files):
        directory = os.path.dirname(os.path.abspath(path))
        if _auto_loaded(os.path.basename(path)):
            auto.add(directory)
            continue
        root = directory if _has_tf(directory) else os.path.dirname(directory)
        if _has_tf(root):
            extra.append((1 + i, root, path))
        else:
            message = (
                "not evaluated: no root module to read it with (a variable file Terraform does "
                "not load automatically is evaluated as a -var-file of the root module in its "
                "directory or, without one, its parent); exclude it if it is used otherwise"
            )
            errors.append(ScanError(shown, 0, 0, message))
    roots: list[str] = sorted(auto)
    toward: set[str] = set()
    callers: dict[str, int] = {}
    if dirs:
        reach = _reach(resolver, cwd, files)
        above, toward = reach.above(set(dirs))
        callers = reach.counts
        roots += [d for d in above if d not in auto]
        # A named file's module that no root reached (a call with count = 0, a caller that
        # does not parse, a loop) is evaluated as a root of its own: never a silent pass.
        roots += sorted(dirs)
    wanted = graph.Wanted(set(dirs) | auto, toward)
    out: list[tuple[int, Target]] = []
    found = graph.targets(
        dirs,
        cwd,
        variables,
        errors,
        environment=env_variables,
        roots=roots,
        callers=callers,
        max_size=max_size,
        files=files,
        wanted=wanted,
    )
    out += ((0, target) for target in found)
    for evaluation, root, path in extra:
        found = graph.targets(
            {},
            cwd,
            [("--var-file", path), *variables],
            errors,
            environment=env_variables,
            roots=[root],
            callers=callers,
            max_size=max_size,
            files=files,
            wanted=graph.Wanted({root}, set()),
        )
        out += ((evaluation, target) for target in found)
    return out


def _reach(resolver: Resolver, cwd: str, files: source.Files) -> "Reach":
    """The local module calls of the working tree's .tf files (as ``check .`` finds them:
    excluded, hidden and skipped directories are not searched)."""
    from imds_iac_checks.formats.terraform import graph

    limit = resolver.size_limit.value
    budget = [graph.MAX_REACH_ENTRIES]

    def tf_files() -> Iterator[str]:
        for path, _ in discover([cwd], resolver, [], budget=budget):
            if path.endswith(".tf"):
                yield path

    def read(path: str) -> bytes:
        data = files.overlay.get(path)
        return data if data is not None else source.read_regular(path, limit)

    reach = graph.Reach.index(tf_files(), read)
    if budget[0] < 0:
        reach.complete = False
    return reach


def _evaluate_named(
    named: Named,
    found: list[tuple[int, Target]],
    resolver: Resolver,
    cwd: str,
    findings: list[Finding],
    origins: dict[Finding, tuple[Target, Context]],
    errors: list[ScanError],
    by_file: dict[str, list[Target]],
    hazards: list[Hazard] | None = None,
) -> int:
    """Add the findings of ``found`` (see _named_targets) tied to the named files, except those
    a directory scanned already has; the number of targets evaluated. ``by_file`` collects the
    targets by path; ``hazards`` the hazards in the user data of the targets tied to them (or
    written in them)."""
    ties = named.ties()
    known: dict[str, tuple[Context, tuple[str, ...]] | None] = {}
    groups: dict[
        tuple[int, str, str, tuple[Span, ...]], list[tuple[Target, Context, tuple[str, ...]]]
    ] = {}
    for evaluation, target in found:
        where = target.path
        if where not in known:
            known[where] = _path_settings(resolver, cwd, where)
        setting = known[where]
        if setting is None:
            continue
        directory = os.path.dirname(os.path.abspath(os.path.join(cwd, where)))
        module_path = target.address[: target.address.rfind(target.kind + ".")]
        key = (evaluation, directory, module_path, target.module_calls)
        groups.setdefault(key, []).append((target, setting[0], setting[1]))
    already = set(findings)
    count = 0
    for (evaluation, _, _, _), members in groups.items():
        tie = ties[evaluation]
        count += sum(1 for target, _, _ in members if _target_tied(target, tie))
        found_hazards: list[Hazard] = []
        for target, ctx, finding in _evaluate_group(members, errors, by_file, found_hazards):
            if finding not in already and _tied(finding, target, tie):
                findings.append(finding)
                origins.setdefault(finding, (target, ctx))
        if hazards is not None and found_hazards:
            tied = {t.address for t, _, _ in members if _target_tied(t, tie)}
            hazards.extend(h for h in found_hazards if h.owner in tied or h.span.path in tie)
    return count


def _path_settings(
    resolver: Resolver, cwd: str, shown: str
) -> tuple[Context, tuple[str, ...]] | None:
    """The rule context and enabled rules for a file (shown relative to ``cwd``); None when
    the configuration excludes it."""
    absolute = os.path.abspath(os.path.join(cwd, shown))
    settings = resolver.for_path(absolute)
    if settings.excluded(absolute):
        return None
    return Context(hop_limit=settings.hop_limit_for(absolute)), settings.rules_for(absolute)


def _judge_hazards(hazards: list[Hazard], resolver: Resolver, cwd: str) -> list[Finding]:
    """The findings of the rules that judge hazards (``Rule.hazard``). A hazard found more than
    once (a module instantiated several times, reached from several roots; a script that is a
    target's user data and a file of the tree) is judged once, with every instance it runs on."""
    merged: dict[tuple[str, str, int, int, str], Hazard] = {}
    for hazard in hazards:
        key = (
            hazard.kind,
            hazard.span.path,
            hazard.span.start_byte,
            hazard.span.end_byte,
            hazard.what,
        )
        known = merged.get(key)
        if known is None:
            merged[key] = hazard
            continue
        hosts = list(known.hosts)
        hosts += [h for h in hazard.hosts if h not in hosts]
        owner = known.owner or hazard.owner
        payload = known.payload if known.owner else hazard.payload
        merged[key] = known._replace(hosts=tuple(hosts), owner=owner, payload=payload)
    judges = [rule for rule in REGISTRY.values() if rule.hazard is not None]
    out: list[Finding] = []
    settings_of: dict[str, tuple[Context, tuple[str, ...]] | None] = {}
    for hazard in merged.values():
        path = hazard.span.path
        if path not in settings_of:
            settings_of[path] = _path_settings(resolver, cwd, path)
        setting = settings_of[path]
        if setting is None:
            continue
        ctx, enabled = setting
        for rule in judges:
            if rule.id not in enabled or hazard.kind not in rule.kinds:
                continue
            assert rule.hazard is not None
            try:
                out.extend(rule.hazard(hazard, ctx))
            except Exception as exc:  # a defect costs this hazard, not the scan
                out.append(_hazard_failed(hazard, rule.id, exc))
    return out


def _terraform_policies(
    modules: "dict[str, list[TfFile]]",
    named: "dict[str, list[TfFile]]",
    files: source.Files,
    errors: list[ScanError],
) -> tuple[list[Policy], list[Target]]:
    """The guardrail policies written in the scanned Terraform directories (and the account
    defaults their EC2 declarative policies set, as targets): a directory is read when one of
    its files names what a guardrail reads (a byte search)."""
    policies: list[Policy] = []
    targets: list[Target] = []
    read: dict[str, tuple[list[tuple[str, str, bytes]], set[str]]] = {}
    for directory in sorted({*modules, *named}):
        listing = [*modules.get(directory, ()), *named.get(directory, ())]
        # Files named one by one (pre-commit) are read with their siblings: a policy in one
        # file often takes its document from another. What is reported is tied to a named file.
        asked = {tf.shown for tf in named.get(directory, ())}
        if asked and directory not in modules:
            listing += _siblings(directory, listing)
        contents: list[tuple[str, str, bytes]] = []
        for tf in sorted(listing, key=lambda tf: tf.shown):
            try:
                contents.append((tf.path, tf.shown, files.read(tf.path)))
            except OSError:
                continue  # the module's evaluation reports it
        read[directory] = (contents, asked)
    worth = {
        d
        for d, (contents, _) in read.items()
        if any(_policy_worth(data) or _policy_from_file(data) for _, _, data in contents)
    }
    # A directory that calls a local module whose policy it may give values to (``hop_limit =
    # 5``, ``content = local.scp``) is read too: the module's policy is judged with them.
    calls = {d: _local_calls(d, contents) for d, (contents, _) in read.items()}
    by_path = {os.path.abspath(d): d for d in read}
    on_disk: dict[str, bool] = {}
    changed = True
    while changed:
        changed = False
        for d, called in calls.items():
            if d in worth:
                continue
            if any(
                by_path.get(c) in worth or (c not in by_path and _worth_on_disk(c, on_disk))
                for c in called
            ):
                worth.add(d)
                changed = True
    called_by: dict[str, list[str]] = {}
    for d, called in calls.items():
        for c in called:
            if c in by_path:
                called_by.setdefault(by_path[c], []).append(d)
    for directory in sorted(read):
        contents, asked = read[directory]
        if directory not in worth:
            continue
        # the files of the scanned directories that call this one: a variable default they
        # override is not what those calls apply (a fix there would not change them)
        caller_files = [x for d in called_by.get(directory, ()) for x in read[d][0]]
        try:
            from imds_iac_checks.formats import policy

            found, made, errs = policy.read_terraform(contents, caller_files, set(read))
        except Exception as exc:  # a defect costs the directory's policies, not the scan
            message = f"internal error while reading policies: {type(exc).__name__}: {exc}"
            errors.append(ScanError(contents[0][1], 0, 0, message))
            continue
        if asked and directory not in modules:
            found = [p for p in found if _policy_tied(p, asked)]
            made = [t for t in made if t.path in asked]
            errs = [e for e in errs if e.path in asked]
        policies += found
        targets += made
        errors.extend(errs)
    return policies, targets


def _local_calls(directory: str, contents: list[tuple[str, str, bytes]]) -> set[str]:
    """The directories of the local modules (``source = "./modules/scp"``) a directory calls."""
    out: set[str] = set()
    for path, _, data in contents:
        if b"module" not in data:
            continue
        for match in _LOCAL_SOURCE.finditer(data):
            relative = match.group(1).decode("utf-8", "replace")
            out.add(os.path.abspath(os.path.join(os.path.dirname(path), relative)))
    return out


def _worth_on_disk(directory: str, cache: dict[str, bool]) -> bool:
    """Whether a called module that is not scanned (outside the paths given) writes a
    guardrail: the caller's policies made by it are read."""
    if directory not in cache:
        found = False
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
        except OSError:
            names = []
        for name in names[:64]:
            try:
                with open(os.path.join(directory, name), "rb") as handle:
                    data = handle.read(1 << 20)
            except OSError:
                continue
            if _policy_worth(data) or _policy_from_file(data):
                found = True
                break
        cache[directory] = found
    return cache[directory]


_LOCAL_SOURCE = re.compile(rb'\bsource\s*=\s*"(\.\.?/[^"$]*)"')


def _siblings(directory: str, listing: "list[TfFile]") -> "list[TfFile]":
    """The other ``.tf`` files of a directory whose files were named one by one (shown beside
    them)."""
    from imds_iac_checks.formats.terraform import graph

    given = {os.path.basename(tf.path) for tf in listing}
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".tf") and n not in given)
    except OSError:
        return []
    head = posixpath.dirname(listing[0].shown)
    return [
        graph.TfFile(os.path.join(directory, name), posixpath.join(head, name))
        for name in names
        if os.path.isfile(os.path.join(directory, name))
    ]


def _policy_tied(policy: Policy, named: set[str]) -> bool:
    """Whether a policy is written in a named file, or any of its statements is."""
    return policy.path in named or any(s.span.path in named for s in policy.statements)


def _judge_policies(policies: list[Policy], resolver: Resolver, cwd: str) -> dict[Finding, Policy]:
    """The findings of the rules that judge guardrail policies (``Rule.policy``), each policy
    with the options of its file (the hop limit a guardrail must not exceed); each finding with
    the policy it is on (suppressions read the policy's resource), in the order found."""
    judges = [rule for rule in REGISTRY.values() if rule.policy is not None]
    out: dict[Finding, Policy] = {}
    settings_of: dict[str, tuple[Context, tuple[str, ...]] | None] = {}
    for policy in policies:
        if policy.path not in settings_of:
            settings_of[policy.path] = _path_settings(resolver, cwd, policy.path)
        setting = settings_of[policy.path]
        if setting is None:
            continue
        ctx, enabled = setting
        for rule in judges:
            if rule.id not in enabled:
                continue
            assert rule.policy is not None
            try:
                for finding in rule.policy(policy, ctx):
                    out.setdefault(finding, policy)
            except Exception as exc:  # a defect costs this policy, not the scan
                failed = internal_error(
                    rule.id,
                    exc,
                    label=policy.address,
                    path=policy.path,
                    span=policy.span,
                    resource=policy.address,
                    kind=policy.what,
                )
                out.setdefault(failed, policy)
    return out


def _hazard_failed(hazard: Hazard, rule_id: str, exc: Exception) -> Finding:
    return internal_error(
        rule_id,
        exc,
        label=hazard.owner or None,
        path=hazard.span.path,
        span=hazard.span,
        resource=hazard.owner or hazard.span.path,
        kind=hazard.payload,
    )


def _target_tied(target: Target, named: set[str]) -> bool:
    """Whether a target is in a named file, made through a module call in one, or has a value
    that comes from one (the targets a scan of named files counts)."""
    if target.path in named or any(span.path in named for span in target.module_calls):
        return True
    return any(
        link.span.path in named
        for values in target.settings.values()
        for value in values
        for link in value.provenance
    )


def _tied(finding: Finding, target: Target, named: set[str]) -> bool:
    """Whether ``finding`` (on ``target``) depends on a file in ``named`` (shown paths): its
    location, its resource, a module call its resource was made through, or a link of the
    provenance of the value it is about."""
    if finding.path in named or target.path in named:
        return True
    if any(span.path in named for span in target.module_calls):
        return True
    values = list(target.settings.get(finding.setting or "", ()))
    values += [v for v in (target.unknown_block, target.template_ref) if v is not None]
    return any(
        value.span == finding.span and any(link.span.path in named for link in value.provenance)
        for value in values
    )


def _complete(directory: str, tf_files: "list[TfFile]") -> bool:
    """Every .tf file of the module directory is among those scanned."""
    try:
        names = os.listdir(directory)
    except OSError:
        return False
    scanned = {os.path.basename(tf.path) for tf in tf_files}
    return all(name in scanned for name in names if name.endswith(".tf"))


def _parse_data(
    path: str, shown: str, cfn_parameters: dict[str, str] | None, files: source.Files
) -> "DataResult":
    """One JSON or YAML file, read through ``files``."""
    try:
        data = files.read(path)
    except OSError as exc:
        return DataResult([], [ScanError(shown, 0, 0, f"cannot read: {exc.strerror or exc}")], 0)
    payloads: list[Payload] = []
    try:
        kind = scanned_kind(path)
        if kind is not None and kind.reads_as in _PAYLOAD_READERS:
            reader = import_module(_PAYLOAD_READERS[kind.reads_as])
            payloads, errs = reader.payloads(shown, data, origin=path, files=files)
            # Files that run on instances may also launch them (a Packer template's build
            # instance, a CDK app's constructs).
            found, more = reader.targets(shown, data, origin=path, files=files)
            errs = errs + more
        else:
            from imds_iac_checks.formats import data as data_files

            found, errs = data_files.parse(
                shown, data, cfn_parameters, origin=path, files=files, payloads=payloads
            )
    except Exception as exc:  # an adapter bug must not end the scan of the other files
        error = ScanError(shown, 0, 0, f"internal error: {type(exc).__name__}: {exc}")
        return DataResult([], [error], 1)
    policies: tuple[Policy, ...] = ()
    if _policy_worth(data):
        try:
            from imds_iac_checks.formats import policy

            read, more_targets, more_errors = policy.read_data(shown, data, origin=path)
            policies, found, errs = tuple(read), found + more_targets, errs + more_errors
        except Exception as exc:  # a defect costs the file's policies, not the scan
            message = f"internal error while reading policies: {type(exc).__name__}: {exc}"
            errs = [*errs, ScanError(shown, 0, 0, message)]
    hazards: list[Hazard] = []
    for payload in payloads:
        try:
            hazards.extend(hazards_of(payload, ()))
        except Exception as exc:  # an analyser bug costs this payload, not the scan
            where = payload.span
            message = f"internal error while reading {payload.what}: {type(exc).__name__}: {exc}"
            errs.append(ScanError(where.path or shown, where.line, where.column, message))
    return DataResult(found, errs, 1, tuple(hazards), policies)


def _policy_from_file(data: bytes) -> bool:
    """A Terraform file that may write a policy whose text is in another file (``content =
    templatefile("scp.json.tpl", ...)``, ``file(...)``): the reader looks at that file."""
    return b"file(" in data and (
        b"aws_organizations_policy" in data or b"aws_iam_policy_document" in data
    )


def _policy_worth(data: bytes) -> bool:
    """A byte search before the policy reader is imported (see model.POLICY_MARKERS)."""
    lowered = data.lower()
    return any(marker in lowered for marker in POLICY_MARKERS)


# What reads each kind of file that holds code run on instances (formats.FILE_KINDS
# ``reads_as``): a module with ``payloads(shown, data, *, origin, files) -> (payloads, errors)``
# and ``targets(shown, data, *, origin, files) -> (targets, errors)``.
_PAYLOAD_READERS = {
    "script": "imds_iac_checks.formats.scripts",
    "manifest": "imds_iac_checks.formats.manifests",
}


def hazards_of(payload: Payload, hosts: Sequence[Host]) -> Iterator[Hazard]:
    """What breaks in ``payload`` when IMDSv2 is required, placed in the files that hold it."""
    if not _worth_reading(payload):
        return
    from imds_iac_checks.hazards import analyse
    from imds_iac_checks.hazards.place import hazard

    for inner, found in analyse(payload):
        yield hazard(inner, found, hosts)


def _worth_reading(payload: Payload) -> bool:
    """A cheap look before any parser is loaded: IMDS calls name the service (other than to
    fetch a token), SDK pins name an SDK, nested documents say what they are (manifests are
    always read: their reader is cheap and already loaded)."""
    if payload.language.startswith("manifest-"):
        return True  # a dependency manifest (formats/manifests.py): always read
    text = payload.text
    if any(marker in text for marker in _MARKERS):
        return True
    return _names_the_service(text)


def _names_the_service(text: str) -> bool:
    """The text names the metadata service other than in the URL that fetches a token (a
    script that only runs ``curl -X PUT http://169.254.169.254/latest/api/token`` makes no
    call to judge; a host held in a variable, a request for metadata, a heredoc in another
    language all name it elsewhere)."""
    for host in _HOSTS:
        at = text.find(host)
        while at >= 0:
            if not text.startswith(_TOKEN_PATH, at + len(host)):
                return True
            at = text.find(host, at + len(host))
    # The Amazon Linux and Ubuntu tools, not the token headers (X-aws-ec2-metadata-token...).
    for tool in ("ec2-metadata", "ec2metadata"):
        at = text.find(tool)
        while at >= 0:
            if not text.startswith("-token", at + len(tool)):
                return True
            at = text.find(tool, at + len(tool))
    return False


_HOSTS = ("169.254.169.254", "fd00:ec2::254]", "fd00:ec2::254", "instance-data")
_TOKEN_PATH = "/latest/api/token"

# Text without one of these (or an IMDS host, see _names_the_service) holds neither an IMDS call
# nor an SDK install.
_MARKERS = (
    "Content-Type",
    "cloud-config",
    "boto",
    "aws-sdk",
    "awscli",
    "AWSSDK",
    "aws/aws-sdk",
    "software.amazon.awssdk",
    "com.amazonaws",
)


# --- parallel scans ---------------------------------------------------------------------------
#
# Terraform root modules and JSON/YAML files are scanned in chunks by worker processes
# (``fork`` where available, so that workers inherit the bytes already read). The output is the
# serial scan's, byte for byte: each root module is evaluated on its own and the parent then
# keeps, in the serial order, exactly the roots a serial scan evaluates (a serial scan skips a
# root that an earlier root's module calls reached). A worker that dies or hangs never blocks the
# scan: the chunk it was running is retried in a worker of its own, and the file (or root module)
# that kills or stalls that worker becomes a scan error; the rest of its chunk is scanned again.

# A tree this large (Terraform directories + JSON/YAML files) is scanned by a process pool; a
# smaller one (a pre-commit run, one project) serially, without the cost of starting workers.
PARALLEL_THRESHOLD = 200
# A worker that spends this long on one file (or one root module with the modules it calls) is
# stuck: it is killed and that file is reported. Every input is bounded far below this (size
# limits, complexity caps), so only a defect reaches it; it is generous so that a slow machine
# never reports a good file.
WORKER_TIMEOUT = 120.0
MAX_WORKERS = 8
# Chunks per worker: small enough that the workers finish together, large enough that a
# chunk's overhead (a pickled list of paths, a result sent back) stays negligible.
CHUNKS_PER_WORKER = 8


class _Pool(NamedTuple):
    """How a parallel scan runs: the number of workers and how they start."""

    workers: int
    context: Any  # a multiprocessing context


def _pool(directories: int, data_files: int, files: source.Files) -> _Pool | None:
    """Workers for a large tree on a machine with several cores, else None. Never while the
    fixer records or overlays what files hold (those live in this process).
    ``IMDS_IAC_JOBS=1`` scans serially; ``IMDS_IAC_JOBS=N`` uses N workers whatever the size
    of the tree (the generated hostile-input runs compare both on small trees)."""
    if not files.plain:
        return None
    jobs = os.environ.get("IMDS_IAC_JOBS", "").strip()
    if jobs.isdigit() and int(jobs) > 0:
        workers = min(int(jobs), 32)
    elif directories + data_files < PARALLEL_THRESHOLD:
        return None
    else:
        try:
            cores = len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]
        except AttributeError:
            cores = os.cpu_count() or 1
        workers = min(cores, MAX_WORKERS)
    if workers < 2:
        return None
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return _Pool(workers, multiprocessing.get_context("fork" if "fork" in methods else "spawn"))


class RootItem(NamedTuple):
    """A Terraform root module to evaluate, with the modules it calls."""

    directory: str


class DataItem(NamedTuple):
    """A JSON or YAML file to parse."""

    path: str
    shown: str


# An item of work. A unit is a list of item indexes that one worker scans in order.
Item = RootItem | DataItem


class DataResult(NamedTuple):
    """What a JSON or YAML file holds: its targets and errors; ``read`` is 1 if it was read.
    ``hazards``: what breaks when IMDSv2 is required in code the file holds that is no
    target's user data (a script, a Dockerfile, a dependency manifest, a cloud-init file)."""

    targets: list[Target]
    errors: list[ScanError]
    read: int
    hazards: tuple[Hazard, ...] = ()
    # The guardrail policies the file holds (see formats/policy.py).
    policies: tuple[Policy, ...] = ()


class RootResult(NamedTuple):
    """What a root module holds: its targets and errors, and the directories evaluated."""

    targets: list[Target]
    errors: list[ScanError]
    reached: frozenset[str]


class Shared(NamedTuple):
    """What every worker needs besides its items, handed to it once, when it starts."""

    modules: "dict[str, list[TfFile]]"  # the scanned Terraform directories and their files
    cwd: str
    variables: Sequence[tuple[str, str]]  # --var and --var-file, in command-line order
    env_variables: Mapping[str, str]  # TF_VAR_name values, by name
    callers: dict[str, int]  # how many local module calls name each directory
    max_size: int
    cfn_parameters: dict[str, str] | None
    # What the worker reads through: a forked worker inherits it with the bytes read ahead, a
    # spawned one gets its size limit (see source.Files).
    files: source.Files


class Job(NamedTuple):
    """A unit sent to a worker: the items, and ``slot``, where it says which one it is on."""

    slot: int
    items: list[Item]
    reached: frozenset[str] | None  # roots evaluated in sequence: the directories reached so far


class Outcome(NamedTuple):
    """What became of a unit in a round of workers (see _round)."""

    status: str  # "done", "waiting", "started", "culprit" or "here"
    results: "list[DataResult | RootResult | None] | None" = None  # when done
    culprit: int = -1  # the index in the unit of the item that killed or stalled its worker
    message: str = ""  # why that item was not scanned


_shared: Shared | None = None
# In a worker: a shared array, unit slot -> index (in its unit) of the item being scanned.
_progress: Any = None
# In a worker: how the module graph parses a .tf file (see graph.shared_loads); None: as serially.
_load: Any = None


def _init(shared: Shared, progress: Any) -> None:
    global _shared, _progress, _load
    _shared, _progress = shared, progress
    if shared.modules:  # Terraform directories: parse a module that several roots call only once
        from imds_iac_checks.formats.terraform import graph

        _load = graph.shared_loads(shared.callers)


def _work(job: Job) -> list[DataResult | RootResult | None]:
    """One unit of a parallel scan, in a worker process: a result for each item."""
    reached = job.reached
    progress = _progress
    out: list[DataResult | RootResult | None] = []
    for k, item in enumerate(job.items):
        if progress is not None:
            progress[job.slot] = k
        result = _scan_item(item, reached)
        out.append(result)
        if reached is not None and isinstance(result, RootResult):
            reached = reached | result.reached
    return out


def _scan_item(item: Item, reached: frozenset[str] | None) -> DataResult | RootResult | None:
    """What an item holds; None for a root module that ``reached`` (the roots are evaluated in
    sequence) already holds."""
    shared = _shared
    assert shared is not None
    if isinstance(item, DataItem):
        return _parse_data(item.path, item.shown, shared.cfn_parameters, shared.files)
    if reached is not None and item.directory in reached:
        return None
    errors: list[ScanError] = []
    seen: set[str] = set()
    from imds_iac_checks.formats.terraform import graph

    found = list(
        graph.targets(
            shared.modules,
            shared.cwd,
            shared.variables,
            errors,
            environment=shared.env_variables,
            roots=[item.directory],
            reached=seen,
            callers=shared.callers,
            max_size=shared.max_size,
            load=_load,
            files=shared.files,
        )
    )
    return RootResult(found, errors, frozenset(seen))


def _failed(item: Item, message: str, cwd: str) -> DataResult | RootResult:
    """The result of an item no worker could scan: a scan error naming it."""
    if isinstance(item, DataItem):
        error = ScanError(item.shown, 0, 0, message.replace("{what}", "this file"))
        return DataResult([], [error], 0)
    text = message.replace("{what}", "this module or a module it calls")
    error = ScanError(display_path(item.directory, cwd), 0, 0, text)
    return RootResult([], [error], frozenset([item.directory]))


def _in_parallel(
    pool: _Pool,
    data_jobs: list[DataJob],
    cfn_parameters: dict[str, str] | None,
    modules: "dict[str, list[TfFile]]",
    cwd: str,
    variables: Sequence[tuple[str, str]],
    env_variables: Mapping[str, str],
    errors: list[ScanError],
    max_size: int,
    callers: dict[str, int],
    files: source.Files,
    reached_before: frozenset[str] = frozenset(),
) -> tuple[list[DataResult], list[Target]]:
    """Data files and Terraform roots in chunks across the workers; results as a serial scan
    produces them. The workers read through ``files``."""
    global _shared
    shared = Shared(
        modules, cwd, variables, env_variables, callers, max_size, cfn_parameters, files
    )
    _shared = shared  # for items scanned in this process when no worker can start
    try:
        roots = [d for d in modules if not callers.get(d) and d not in reached_before]
        items: list[Item] = [RootItem(d) for d in roots]
        items += [DataItem(job.path, job.shown) for job in data_jobs]
        slots = pool.workers * CHUNKS_PER_WORKER
        units = _chunks(list(range(len(roots))), slots)
        units += _chunks(list(range(len(roots), len(items))), slots)
        results = _run(pool, shared, items, units, None)
        parsed = cast("list[DataResult]", results[len(roots) :])
        found: list[Target] = []
        reached: set[str] = set(reached_before)
        _replay(roots, results[: len(roots)], found, errors, reached)
        # Scanned modules that only modules no root reached call: in sequence, as serially.
        rest = [d for d in modules if callers.get(d) and d not in reached]
        if rest:
            items = [RootItem(d) for d in rest]
            later = _run(pool, shared, items, [list(range(len(rest)))], frozenset(reached))
            _replay(rest, later, found, errors, reached)
        # What a serial scan reports even with no module to evaluate (--var-file errors).
        from imds_iac_checks.formats.terraform import graph

        for _ in graph.targets(
            {},
            cwd,
            variables,
            errors,
            roots=[],
            callers={},
            max_size=max_size,
            files=files,
        ):
            pass
    finally:
        _shared = None
    return parsed, found


def _replay(
    roots: list[str],
    results: list[DataResult | RootResult | None],
    found: list[Target],
    errors: list[ScanError],
    reached: set[str],
) -> None:
    """Keep the roots a serial scan evaluates: in order, those no kept root reached."""
    for root, result in zip(roots, results, strict=True):
        if result is None or root in reached:
            continue
        assert isinstance(result, RootResult)
        found.extend(result.targets)
        errors.extend(result.errors)
        reached |= result.reached


def _chunks(items: list[Any], slots: int) -> list[list[Any]]:
    if not items:
        return []
    size = max(1, -(-len(items) // slots))
    return [items[i : i + size] for i in range(0, len(items), size)]


class _NoWorkers(Exception):
    """Worker processes cannot be started here (no fork, a process limit)."""


def _run(
    pool: _Pool,
    shared: Shared,
    items: list[Item],
    units: list[list[int]],
    reached: frozenset[str] | None,
) -> list[DataResult | RootResult | None]:
    """A result for every item, in order. Units run on ``pool.workers`` workers. When a worker
    dies, the units that were running are retried one at a time, each in a worker of its own;
    the item a lone worker dies (or hangs) on gets a scan error and the rest of its unit is
    queued again (each crashing item costs one worker start: time stays linear in the items).
    A hung worker is killed after ``WORKER_TIMEOUT`` seconds on one item. What
    cannot fail as a crash runs in this process, as a serial scan: a unit whose worker raised
    (a result that cannot be sent back), and everything when workers die before scanning."""
    results: list[DataResult | RootResult | None] = [None] * len(items)
    queue = [unit for unit in units if unit]
    suspects: list[list[int]] = []
    here: list[list[int]] = []  # units to scan in this process
    while queue or suspects:
        if queue:
            batch, queue, workers = queue, [], pool.workers
        else:
            batch, suspects, workers = suspects[:1], suspects[1:], 1
        try:
            outcome = _round(pool, shared, items, batch, reached, workers)
        except _NoWorkers:
            outcome = [Outcome("here")] * len(batch)
        if all(o.status == "waiting" for o in outcome):  # no worker scanned anything
            here += batch + queue + suspects
            break
        for unit, o in zip(batch, outcome, strict=True):
            if o.status == "done":
                assert o.results is not None
                for i, result in zip(unit, o.results, strict=True):
                    results[i] = result
            elif o.status == "waiting":  # not started when the pool stopped: run it again
                queue.append(unit)
            elif o.status == "here":
                here.append(unit)
            elif o.status == "started":  # running when a worker died: find out alone
                suspects.append(unit)
            else:  # "culprit"
                k = o.culprit
                results[unit[k]] = _failed(items[unit[k]], o.message, shared.cwd)
                if len(unit) > 1:
                    queue.append(unit[:k] + unit[k + 1 :])
    for unit in here:
        job = Job(0, [items[i] for i in unit], reached)
        for i, result in zip(unit, _work(job), strict=True):
            results[i] = result
    return results


def _round(
    pool: _Pool,
    shared: Shared,
    items: list[Item],
    batch: list[list[int]],
    reached: frozenset[str] | None,
    workers: int,
) -> list[Outcome]:
    """Run a batch of units on a new pool: for each unit, "done" (with its results), "waiting"
    (never started), "started" (running when a worker died), "culprit" (its ``culprit``-th item
    killed or stalled a worker it had to itself: ``message`` says how) or "here" (its worker
    raised an exception: to scan in this process)."""
    import time
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    progress = pool.context.RawArray("q", [-1] * len(batch))
    try:
        executor = ProcessPoolExecutor(
            min(workers, len(batch)),
            mp_context=pool.context,
            initializer=_init,
            initargs=(shared, progress),
        )
    except (OSError, ValueError) as exc:
        raise _NoWorkers from exc
    outcome: list[Outcome | None] = [None] * len(batch)
    futures: dict[Future[list[DataResult | RootResult | None]], int] = {}
    processes: list[Any] = []
    broken = stuck = False
    poll = max(0.02, min(1.0, WORKER_TIMEOUT / 4))
    try:
        try:
            for slot, unit in enumerate(batch):
                job = Job(slot, [items[i] for i in unit], reached)
                futures[executor.submit(_work, job)] = slot
            processes = list((getattr(executor, "_processes", None) or {}).values())
        except (OSError, RuntimeError) as exc:
            raise _NoWorkers from exc
        pending = set(futures)
        watched: dict[int, tuple[int, float]] = {}  # slot -> (item, since when)
        while pending and not broken:
            done, pending = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
            for future in done:
                slot = futures[future]
                try:
                    outcome[slot] = Outcome("done", future.result())
                except BrokenProcessPool:
                    broken = True
                except Exception:  # e.g. a result that cannot be sent back: not a crash
                    outcome[slot] = Outcome("here")
            now = time.monotonic()
            for future in pending:
                slot = futures[future]
                k = progress[slot]
                if k < 0:
                    continue
                if watched.get(slot, (-1, 0.0))[0] != k:
                    watched[slot] = (k, now)
                elif now - watched[slot][1] > WORKER_TIMEOUT:
                    message = _TIMEOUT.replace("{seconds}", f"{WORKER_TIMEOUT:g}")
                    outcome[slot] = Outcome("culprit", culprit=k, message=message)
                    broken = stuck = True
        if broken:
            _kill(processes)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    how = _how_it_died(processes) if broken and not stuck else ""
    out: list[Outcome] = []
    for future, slot in sorted(futures.items(), key=lambda pair: pair[1]):
        known = outcome[slot]
        if known is None and future.done() and not future.cancelled() and not future.exception():
            known = Outcome("done", future.result())
        if known is None:
            k = progress[slot]
            if k < 0 or stuck:
                known = Outcome("waiting")
            elif len(futures) == 1:
                known = Outcome("culprit", culprit=k, message=_DIED.replace("{how}", how))
            else:
                known = Outcome("started")
        out.append(known)
    return out


_DIED = "worker process died while scanning {what}{how}: not scanned"
_TIMEOUT = "worker process spent over {seconds} s on {what}: stopped, not scanned"


def _kill(processes: list[Any]) -> None:
    import contextlib

    for process in processes:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.kill()


def _how_it_died(processes: list[Any]) -> str:
    """`` (signal SIGSEGV)`` or `` (exit code 3)`` for the worker that died, when known."""
    import signal

    for process in processes:
        process.join(1)
        code = getattr(process, "exitcode", None)
        if code is None or code == 0 or code == -signal.SIGTERM:
            continue
        if code < 0:
            try:
                return f" (signal {signal.Signals(-code).name})"
            except ValueError:
                return f" (signal {-code})"
        return f" (exit code {code})"
    return ""


def merge_instances(
    findings: list[Finding],
    origins: dict[Finding, tuple[Target, Context]],
    reached: "Mapping[tuple[str, int], int] | None" = None,
) -> list[Finding]:
    """One finding per place: the instances of a resource or module (``count``, ``for_each``)
    that all get the same finding at the same span are reported once, with their number. The
    same finding is the same rule, span and body once each target's instance names are written
    without their keys (:meth:`Target.generic`).

    A finding on a resource made through module calls carries its call chain
    (``Finding.roots``; several when the same finding came from several chains). ``reached``
    (see :func:`call_chains`) counts the call chains that reach each resource block in the
    scan: when more than one does (a module called from two roots, or twice), the message names
    the root call(s) the finding comes from, unless it points into its root's own directory."""
    groups: dict[tuple[str, Span, str, str], list[Finding]] = {}
    for f in findings:
        origin = origins.get(f)
        target = origin[0] if origin is not None else None
        body = f.body if f.body is not None else f.message
        if target is not None and target.instance_names:
            key = (f.rule_id, f.span, target.generic(f.resource), target.generic(body))
        else:
            key = (f.rule_id, f.span, f.resource, body)
        groups.setdefault(key, []).append(f)
    out = []
    for (_, _, base, body), members in groups.items():
        chains: dict[tuple[tuple[str, Span], ...], None] = {}
        several = False
        for f in members:
            chains.update(dict.fromkeys(f.roots))
            origin = origins.get(f)
            if f.roots and origin is not None and reached is not None:
                where = (origin[0].span.path, origin[0].span.start_byte)
                several = several or reached.get(where, 0) > 1
        roots = tuple(chains)
        if len(members) == 1 and not several:
            out.extend(members)
            continue
        first = members[0]
        label = first.label if first.label is not None else base
        if len(members) > 1:
            label = base if len(members) <= len(roots) else f"{base} ({len(members)} instances)"
        if several and (len(roots) > 1 or not _in_root(first.path, roots[0])):
            body += " " + _naming(roots)
        merged = first._replace(
            resource=base if len(members) > 1 else first.resource,
            message=f"[{label}] {body}",
            label=label,
            body=body,
            roots=roots,
        )
        origins.setdefault(merged, origins[first])
        out.append(merged)
    return out


# The address of each module call in a target's address: ``module.NAME`` with its instance key.
_CALL = re.compile(r'module\.[^.\["]+(?:\[(?:"(?:[^"\\]|\\.)*"|[^\]"]*)\])?')
# A message names at most this many root calls (JSON's ``roots`` has them all).
_NAMED_ROOTS = 4


def _chain(target: Target) -> tuple[tuple[str, Span], ...]:
    """The module calls a target was made through: (address, span of the ``module`` block),
    outermost first; addresses without the target's instance keys."""
    spans = target.module_calls
    names: list[str] = []
    at = 0
    address = target.address
    while len(names) < len(spans):
        match = _CALL.match(address, at)
        if match is None:
            break
        names.append(target.generic(address[: match.end()]))
        at = match.end() + 1
    names += ["module"] * (len(spans) - len(names))
    return tuple(zip(names, spans, strict=True))


def _in_root(path: str, chain: tuple[tuple[str, Span], ...]) -> bool:
    """Whether ``path`` is in the directory of the chain's root module (a finding there is
    plainly that root's)."""
    root = chain[0][1].path
    return os.path.dirname(path) == os.path.dirname(root)


def _naming(roots: tuple[tuple[tuple[str, Span], ...], ...]) -> str:
    """``(root call module.app at live/dev/main.tf:1)``, ``(root call module.app at
    live/dev/main.tf:1, through module.web at modules/app/main.tf:20)``, ``(2 root calls: ...;
    ...)``."""

    def one(chain: tuple[tuple[str, Span], ...]) -> str:
        (address, span), rest = chain[0], chain[1:]
        text = f"{address} at {span.path}:{span.line}"
        if rest:
            inner = ", ".join(
                f"{a[len(b) + 1 :] if a.startswith(b + '.') else a} at {s.path}:{s.line}"
                for (a, s), (b, _) in zip(rest, chain, strict=False)
            )
            text += f", through {inner}"
        return text

    if len(roots) == 1:
        return f"(root call {one(roots[0])})"
    shown = [one(chain) for chain in roots[:_NAMED_ROOTS]]
    if len(roots) > _NAMED_ROOTS:
        shown.append(f"and {len(roots) - _NAMED_ROOTS:,} more")
    return f"({len(roots):,} root calls: {'; '.join(shown)})"


def call_chains(targets: Iterable[Target]) -> dict[tuple[str, int], int]:
    """For each resource block (path, byte offset) of a module, the number of distinct call
    chains (``Target.module_calls``) that reach it: more than one, and its findings name their
    root (see :func:`merge_instances`)."""
    seen: dict[tuple[str, int], set[tuple[Span, ...]]] = {}
    for target in targets:
        if target.module_calls:
            seen.setdefault((target.span.path, target.span.start_byte), set()).add(
                target.module_calls
            )
    return {where: len(chains) for where, chains in seen.items()}


def exit_code(result: ScanResult, exit_zero: bool = False) -> int:
    if result.errors:
        return 2
    if exit_zero:
        return 0
    threshold = SEVERITY_RANK[result.fail_on]
    failing = (f for f in result.findings if f.suppressed is None)
    return 1 if any(SEVERITY_RANK[f.severity] >= threshold for f in failing) else 0
