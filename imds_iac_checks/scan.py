"""Orchestration: paths -> files -> Targets (adapters) -> Findings (engine).

This module picks the adapter for each file (by :data:`imds_iac_checks.formats.FILE_KINDS`) and
imports it only when a file needs it.
"""

import os
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from imds_iac_checks import source
from imds_iac_checks.config import DEFAULT_MAX_FILE_SIZE, Resolver, Settings
from imds_iac_checks.engine import Context, evaluate
from imds_iac_checks.formats import scanned_kind
from imds_iac_checks.link import link
from imds_iac_checks.model import SEVERITY_RANK, TOO_COMPLEX, Finding, ScanError, Span, Target

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


def display_path(path: str, cwd: str) -> str:
    """``path`` relative to ``cwd`` when it is below it, else absolute; always with ``/``."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, cwd)
    except ValueError:  # another drive on Windows
        rel = absolute
    shown = absolute if rel == ".." or rel.startswith(".." + os.sep) else rel
    return shown.replace(os.sep, "/")


def _hidden(name: str) -> bool:
    return name.startswith(".") and name not in (".", "..")


def discover(
    paths: list[str], resolver: Resolver, errors: list[ScanError]
) -> Iterator[tuple[str, Settings]]:
    """Yield ``(file, settings)`` for every file to scan, in a deterministic order.

    Directories are walked in sorted order, skipping ``SKIP_DIRS``, hidden directories and excluded
    paths. A file named explicitly is scanned when an adapter supports its name, unless excluded.
    A path that does not exist is an error.
    """
    seen: set[str] = set()  # real paths: a file and a link to it are scanned once
    for given in paths:
        if not os.path.exists(given):
            errors.append(ScanError(given, 0, 0, _missing(given)))
            continue
        if not os.path.isdir(given):
            absolute = os.path.abspath(given)
            settings = resolver.for_path(absolute)
            real = os.path.realpath(given) if os.path.islink(given) else absolute
            if real not in seen and scanned_kind(given) and not settings.excluded(absolute):
                seen.add(real)
                yield given, settings
            continue
        tree = os.path.realpath(given)
        for root, dirs, files in os.walk(given, onerror=lambda e: _walk_error(e, errors)):
            settings = resolver.for_dir(root)
            # Directory links are not followed, so below the tree's real path a file's real
            # path is its path: realpath (an lstat per path component) is for links only.
            real_root = tree + root[len(given) :] if root.startswith(given) else root
            keep = []
            for d in sorted(dirs):
                if d in SKIP_DIRS or _hidden(d):
                    continue
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
                if scanned_kind(name) is None:
                    continue
                full = os.path.join(root, name)
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


def terraform_targets(
    directories: list[str], cwd: str | None = None
) -> tuple[list[Target], list[ScanError]]:
    """Evaluate directories of ``.tf`` files as ``check`` does (roots, local module calls) and
    return the Targets: for tools and differential tests that want values, not findings."""
    cwd = os.path.abspath(cwd or os.getcwd())
    listing: dict[str, list[tuple[str, str]]] = {}
    for directory in directories:
        absolute = os.path.abspath(directory)
        names = sorted(n for n in os.listdir(absolute) if n.endswith(".tf"))
        listing[absolute] = [
            (os.path.join(absolute, n), display_path(os.path.join(absolute, n), cwd)) for n in names
        ]
    errors: list[ScanError] = []
    files = source.Files()
    targets = [t for _, t in _terraform_modules(listing, cwd, [], [], errors, files=files)]
    return targets, errors


def _terraform_modules(
    directories: dict[str, list[tuple[str, str]]],
    cwd: str,
    var_files: list[str],
    variables: list[str],
    errors: list[ScanError],
    *,
    roots: list[str] | None = None,
    reached: set[str] | None = None,
    callers: dict[str, int] | None = None,
    max_size: int = DEFAULT_MAX_FILE_SIZE,
    files: source.Files,
) -> Iterator[tuple[str, Target]]:
    """Evaluate every directory of ``.tf`` files as a root module: ``(file, target)`` pairs.
    ``files`` reads them (and the variable files).

    ``roots`` (default: every scanned directory that no other calls, then the rest) limits the
    walk; ``reached`` collects the directories evaluated; ``callers`` may be given when known."""
    from imds_iac_checks.formats import terraform_module as tfm

    cli_inputs: dict[str, tfm.VarInput] = {}
    for var_file in var_files:
        try:
            found, errs = tfm.var_inputs(var_file, display_path(var_file, cwd), files)
        except OSError as exc:
            errors.append(ScanError(var_file, 0, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        errors.extend(errs)
        cli_inputs.update(found)
    for assignment in variables:
        given = tfm.cli_var_input(assignment)
        if given is None:
            errors.append(ScanError("--var", 0, 0, f"expected NAME=VALUE, not {assignment!r}"))
        else:
            cli_inputs[given[0]] = given[1]
    loaded: dict[str, list[tfm.ParsedFile]] = {}
    asked = {path for listing in directories.values() for path, _ in listing}

    def files_of(directory: str) -> list[tfm.ParsedFile]:
        """The parsed .tf files of a directory: the scanned ones, or all of a called module's."""
        if directory in loaded:
            return loaded[directory]
        # A module is all its .tf files: files named one by one (pre-commit passes the changed
        # ones) are evaluated with their siblings, which supply variables and locals.
        listed = list(directories.get(directory, ()))
        given = {os.path.basename(p) for p, _ in listed}
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
        except OSError:
            names = []
        listed += [
            (p, display_path(p, cwd))
            for p in (os.path.join(directory, n) for n in names if n not in given)
        ]
        listed.sort(key=lambda item: os.path.basename(item[0]))
        parsed_files = []
        for path, shown in listed:
            # A sibling read only for its variables reports nothing: it is not asked for.
            report = errors if directory not in directories or path in asked else []
            try:
                too_big = _too_big(path, shown, max_size)
                if too_big is not None:
                    report.append(too_big)
                    continue
                parsed, errs = tfm.load_file(path, shown, files=files)
            except OSError as exc:
                report.append(ScanError(shown, 0, 0, f"cannot read: {exc.strerror or exc}"))
                continue
            except Exception as exc:  # an adapter bug must not end the scan of the other files
                report.append(
                    ScanError(shown, 0, 0, f"internal error: {type(exc).__name__}: {exc}")
                )
                continue
            report.extend(errs)
            if parsed is not None:
                parsed_files.append(parsed)
        loaded[directory] = parsed_files
        return parsed_files

    def root_inputs(directory: str) -> dict[str, tfm.VarInput]:
        inputs: dict[str, tfm.VarInput] = {}
        for tfvars in tfm.tfvars_files(directory):
            try:
                found, errs = tfm.var_inputs(tfvars, display_path(tfvars, cwd), files)
            except OSError:
                continue
            errors.extend(errs)
            inputs.update(found)
        inputs.update(cli_inputs)
        return inputs

    if reached is None:
        reached = set()
    real_keys: dict[str, str] = {}

    def canonical(child: str) -> str:
        return _directory_key(child, directories, real_keys)

    class Root:
        """What one root has cost so far: module instances, targets and evaluation steps
        (shared by every module under it), and the module calls cut at the bound."""

        def __init__(self) -> None:
            self.modules = 0
            self.targets = 0
            self.work = [ROOT_STEPS]
            self.cut: dict[tuple[str, int], list[Any]] = {}

    def walk(
        directory: str,
        inputs: dict[str, tfm.VarInput],
        prefix: str,
        stack: tuple[str, ...],
        downloaded: dict[str, str],
        root: Root,
        key: str = "",
        every: int | None = None,
        names: tuple[tuple[str, str], ...] = (),
    ) -> Iterator[Target]:
        reached.add(directory)
        module = tfm.Module(files_of(directory), inputs, root.work)
        for target in module.targets(prefix, names):
            root.targets += 1
            if every is not None:
                target = target._replace(instances=(target.instances or 1) * every)
            yield target
        on_disk = module.local_calls(directory, downloaded, key)
        local_names = {name for _, _, name, _ in on_disk}
        for src, block, name in module.module_calls:
            if name not in local_names:
                try:
                    yield from module.registry_targets(src, block, name, prefix, names)
                except Exception as exc:  # a defect costs this call, not the rest of the module
                    _call_failed(src, block, name, exc, errors)
        for src, block, name, child in on_disk:
            child = canonical(child)
            if child in stack or len(stack) > MAX_MODULE_DEPTH:
                line = src.span(block).line
                errors.append(
                    ScanError(src.path, line, 1, f"module {name}: calls itself or nests too deep")
                )
                continue
            address = f"{prefix}module.{name}"
            try:
                instances = module.call_instances(src, block, address)
                for suffix, child_inputs, expansion in instances:
                    if root.modules >= ROOT_MODULES or root.targets >= ROOT_TARGETS:
                        site = (src.path, block.start_byte)
                        root.cut.setdefault(site, [src, block, 0, address])[2] += 1
                        continue
                    root.modules += 1
                    times = expansion.every
                    yield from walk(
                        child,
                        child_inputs,
                        f"{address}{suffix}.",
                        (*stack, child),
                        downloaded,
                        root,
                        f"{key}{name}.",
                        every if times is None else (every or 1) * times,
                        ((f"{address}{suffix}", address), *names) if suffix else names,
                    )
                if instances and instances[0][2].cut is not None:
                    where, why = instances[0][2].cut
                    cut = tfm.problem_target(tfm.MODULE_CALL, address, src, block, where, why)
                    yield cut._replace(instance_names=names)
            except Exception as exc:  # a defect costs this call, not the rest of the module
                _call_failed(src, block, name, exc, errors)

    def cut_targets(root: Root) -> Iterator[Target]:
        """An IMDS004 target for each module call not evaluated past the root's bounds."""
        for src, block, skipped, address in root.cut.values():
            why = (
                f"{TOO_COMPLEX}: this root makes more than {ROOT_MODULES:,} module instances or "
                f"{ROOT_TARGETS:,} resource instances; {skipped:,} instance(s) of this call "
                "were not evaluated"
            )
            named = block.named_children
            where = src.span(named[0], named[1]) if len(named) > 1 else src.span(block)
            yield tfm.problem_target(tfm.MODULE_CALL, address, src, block, where, why)

    # A scanned directory that another scanned module calls is evaluated through that call. The
    # calls are found in the bytes (a local `source` is always a literal), without parsing, and
    # counted: a parsed module stays in memory only while another call may still need it.
    if callers is None:
        callers = _local_calls(directories, files)
    if roots is None:
        # Roots first; then any scanned directory no root reached (modules calling each other).
        roots = [d for d in directories if not callers.get(d)]
        roots += [d for d in directories if callers.get(d)]
    for directory in roots:
        if directory in reached:
            continue
        root = Root()
        try:
            downloaded = _downloaded(directory, files)
            for target in walk(
                directory, root_inputs(directory), "", (directory,), downloaded, root
            ):
                yield target.path, target
        except Exception as exc:  # never lose the rest of the tree to one module
            shown = display_path(directory, cwd)
            errors.append(ScanError(shown, 0, 0, f"internal error: {type(exc).__name__}: {exc}"))
        for target in cut_targets(root):
            yield target.path, target
        for done in [d for d in loaded if callers.get(d, 0) <= 1]:
            del loaded[done]


def _call_failed(src: Any, block: Any, name: str, exc: Exception, errors: list[ScanError]) -> None:
    message = f"module {name}: internal error: {type(exc).__name__}: {exc}"
    errors.append(ScanError(src.path, src.span(block).line, 1, message))


def _directory_key(
    child: str, directories: dict[str, list[tuple[str, str]]], real_keys: dict[str, str]
) -> str:
    """The directory a module call names, as one key however it is reached: a path through a
    symbolic link (``l1 -> .``) is the directory it points at, so loops are found and a module
    is loaded once. A scanned directory is its own key (the walk follows no directory links, so
    its path has none); ``real_keys`` caches the scanned directories by real path."""
    if child in directories:
        return child
    real = os.path.realpath(child)
    if real == child:
        return child
    if not real_keys:
        real_keys.update((os.path.realpath(d), d) for d in directories)
    return real_keys.get(real, real)


def _local_calls(
    directories: dict[str, list[tuple[str, str]]], files: source.Files
) -> dict[str, int]:
    """How many local module calls in the scanned directories name each directory (the bytes
    are kept in ``files`` for the parse)."""
    # At the start of a line, after a one-line block's `{` or after a `/* comment */`.
    pattern = re.compile(rb'(?:^|\{|\*/)[ \t]*source[ \t]*=[ \t]*"(\.\.?/[^"]*)"', re.MULTILINE)
    counts: dict[str, int] = {}
    real_keys: dict[str, str] = {}
    for directory in directories:
        try:
            names = [n for n in os.listdir(directory) if n.endswith(".tf")]
        except OSError:
            continue
        for name in names:
            try:
                data = files.read_ahead(os.path.join(directory, name))
            except OSError:
                continue
            if b"module" not in data:
                continue
            for match in pattern.finditer(data):
                raw = match.group(1).decode("utf-8", "replace")
                child = os.path.normpath(os.path.join(directory, raw))
                child = _directory_key(child, directories, real_keys)
                if child != directory:
                    counts[child] = counts.get(child, 0) + 1
    return counts


MAX_MODULE_DEPTH = 16
# Bounds on one root module with everything it calls (hostile input: a module graph that fans
# out exponentially). Calls past them are not evaluated, and each is named by an IMDS004 finding.
ROOT_MODULES = 1_000  # module instances
ROOT_TARGETS = 50_000  # resource instances (targets)
ROOT_STEPS = 500_000  # evaluation steps, shared by every module instance


def _too_big(path: str, shown: str, limit: int) -> ScanError | None:
    """The error for a file over the size limit (0 = no limit), else None. Raises OSError."""
    if not limit:
        return None
    size = os.stat(path).st_size
    if size <= limit:
        return None
    return ScanError(shown, 0, 0, f"skipped: {source.too_large_message(size, limit)}")


def _downloaded(root: str, files: source.Files) -> dict[str, str]:
    """Modules Terraform downloaded for a root (the registry module loads only if there are)."""
    if not os.path.exists(os.path.join(root, ".terraform", "modules", "modules.json")):
        return {}
    from imds_iac_checks.formats import terraform_registry

    return terraform_registry.downloaded(root, files)


def scan(
    paths: list[str],
    resolver: Resolver,
    cwd: str | None = None,
    *,
    var_files: list[str] | None = None,
    variables: list[str] | None = None,
    cfn_parameters: dict[str, str] | None = None,
    files: source.Files | None = None,
) -> ScanResult:
    """Scan ``paths``. ``files`` reads every file (default: from disk, within the resolver's
    size limit): the fixer passes one with an overlay of its edits or a record of what is
    read."""
    files = source.Files(resolver.size_limit) if files is None else files.under(resolver.size_limit)
    cwd = os.path.abspath(cwd or os.getcwd())
    findings: list[Finding] = []
    errors: list[ScanError] = []
    file_count = targets = 0
    first = resolver.for_path(paths[0]) if paths else resolver.for_dir(cwd)
    fail_on, max_size = first.fail_on, first.max_file_size
    # Targets are linked (launch-template inheritance) within a Terraform module directory or a
    # CloudFormation stack before the rules run, so they are grouped first.
    groups: dict[tuple[str, str], list[tuple[Target, Context, tuple[str, ...]]]] = {}
    modules: dict[str, list[tuple[str, str]]] = {}  # directory -> .tf files (path, shown)
    file_settings: dict[str, tuple[Context, tuple[str, ...]]] = {}
    data_jobs: list[tuple[str, str, Settings]] = []  # JSON and YAML files: (path, shown, ...)
    for path, settings in discover(paths, resolver, errors):
        kind = scanned_kind(path)
        assert kind is not None
        shown = display_path(path, cwd)
        if kind.reads_as == "terraform":
            absolute = os.path.abspath(path)
            file_count += 1
            modules.setdefault(os.path.dirname(absolute), []).append((path, shown))
            file_settings[shown] = (
                Context(hop_limit=settings.hop_limit_for(absolute)),
                settings.rules_for(absolute),
            )
            continue
        try:
            too_big = _too_big(path, shown, settings.max_file_size)
        except OSError as exc:
            errors.append(ScanError(shown, 0, 0, f"cannot read: {exc.strerror or exc}"))
            continue
        if too_big is not None:
            errors.append(too_big)
            continue
        data_jobs.append((path, shown, settings))
    # Module calls are found in the bytes before any parse; the bytes are kept for the parse
    # (and a forked worker inherits them), so each file is read once.
    callers = _local_calls(modules, files)
    pool = _pool(len(modules), len(data_jobs), files)
    try:
        if pool is None:
            parsed = [
                _parse_data(path, shown, cfn_parameters, files) for path, shown, _ in data_jobs
            ]
            pairs = list(
                _terraform_modules(
                    modules,
                    cwd,
                    var_files or [],
                    variables or [],
                    errors,
                    callers=callers,
                    max_size=max_size,
                    files=files,
                )
            )
        else:
            parsed, pairs = _in_parallel(
                pool,
                data_jobs,
                cfn_parameters,
                modules,
                cwd,
                var_files or [],
                variables or [],
                errors,
                max_size,
                callers,
                files,
            )
    finally:
        files.forget_ahead()
    for (path, _, settings), (found, errs, was_read) in zip(data_jobs, parsed, strict=True):
        errors.extend(errs)
        file_count += was_read
        absolute = os.path.abspath(path)
        rules = settings.rules_for(absolute)
        ctx = Context(hop_limit=settings.hop_limit_for(absolute))
        for target in found:
            targets += 1
            scope = os.path.dirname(absolute) if target.format == "terraform" else absolute
            groups.setdefault((target.format, scope), []).append((target, ctx, rules))
    for shown, target in pairs:
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
        groups.setdefault((target.format, directory + "|" + module_path), []).append(
            (target, ctx, rules)
        )
    origins: dict[Finding, tuple[Target, Context]] = {}
    for members in groups.values():
        unlinked = [target for target, _, _ in members]
        try:
            linked = link(unlinked)
        except Exception as exc:  # a defect costs this group its linking, not the scan
            linked = unlinked
            message = f"internal error while linking launch templates: {type(exc).__name__}: {exc}"
            where = unlinked[0].span
            errors.append(ScanError(unlinked[0].path, where.line, where.column, message))
        for target, (_, ctx, rules) in zip(linked, members, strict=True):
            for finding in evaluate(target, ctx, rules):
                findings.append(finding)
                origins.setdefault(finding, (target, ctx))
    findings = merge_instances(findings, origins)
    if findings:
        from imds_iac_checks import suppress

        findings = suppress.apply(findings, origins, cwd, files)
    findings.sort(key=lambda f: (f.path, f.span.line, f.span.column, f.rule_id))
    errors = sorted(set(errors), key=lambda e: (e.path, e.line, e.column, e.message))
    return ScanResult(findings, errors, file_count, targets, fail_on, origins)


def _parse_data(
    path: str, shown: str, cfn_parameters: dict[str, str] | None, files: source.Files
) -> tuple[list[Target], list[ScanError], int]:
    """One JSON or YAML file: (targets, errors, 1 if it was read)."""
    try:
        data = files.read(path)
    except OSError as exc:
        return [], [ScanError(shown, 0, 0, f"cannot read: {exc.strerror or exc}")], 0
    try:
        from imds_iac_checks.formats import data as data_files

        found, errs = data_files.parse(shown, data, cfn_parameters)
    except Exception as exc:  # an adapter bug must not end the scan of the other files
        return [], [ScanError(shown, 0, 0, f"internal error: {type(exc).__name__}: {exc}")], 1
    return found, errs, 1


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


# An item of work: ("root", directory) or ("data", (path, shown)). A unit is a list of item
# indexes that one worker scans in order. What a worker needs besides (the Terraform directory
# listing, options, the Files it reads through) is handed to it once, when it starts.
Item = tuple[str, Any]
_shared: tuple[Any, ...] = ()
# In a worker: a shared array, unit slot -> index (in its unit) of the item being scanned.
_progress: Any = None


def _init(shared: tuple[Any, ...], progress: Any) -> None:
    global _shared, _progress
    _shared, _progress = shared, progress
    if shared[0]:  # Terraform directories: parse a module that several roots call only once
        from imds_iac_checks.formats import terraform_module

        terraform_module.load_file = _shared_loads(terraform_module.load_file, shared[4])


def _shared_loads(load: Callable[..., Any], callers: dict[str, int]) -> Callable[..., Any]:
    """``load_file`` remembering the files of modules that several module calls name: a worker
    evaluates each root on its own, and would otherwise parse such a module for every root that
    calls it, where a serial scan keeps it parsed. Errors are returned (so reported) each time."""
    parsed: dict[tuple[str, str], Any] = {}

    def load_file(path: str, shown: str, data: bytes | None = None, *, files: Any = None) -> Any:
        if data is not None or callers.get(os.path.dirname(os.path.abspath(path)), 0) < 2:
            return load(path, shown, data, files=files)
        key = (path, shown)
        if key not in parsed:
            parsed[key] = load(path, shown, files=files)
        return parsed[key]

    return load_file


def _work(job: tuple[int, list[Item], frozenset[str] | None]) -> list[Any]:
    """One unit of a parallel scan, in a worker process: a result for each item."""
    slot, items, reached = job
    progress = _progress
    out = []
    for k, item in enumerate(items):
        if progress is not None:
            progress[slot] = k
        out.append(_scan_item(item, reached))
        if reached is not None and out[-1] is not None:
            reached = reached | out[-1][2]
    return out


def _scan_item(item: Item, reached: frozenset[str] | None) -> Any:
    """A data file: (targets, errors, was read). A root module: (pairs, errors, directories it
    reached), or None when ``reached`` (the roots are evaluated in sequence) already holds it."""
    kind, what = item
    modules, cwd, var_files, variables, callers, max_size, cfn_parameters, files = _shared
    if kind == "data":
        return _parse_data(what[0], what[1], cfn_parameters, files)
    if reached is not None and what in reached:
        return None
    errors: list[ScanError] = []
    seen: set[str] = set()
    found = list(
        _terraform_modules(
            modules,
            cwd,
            var_files,
            variables,
            errors,
            roots=[what],
            reached=seen,
            callers=callers,
            max_size=max_size,
            files=files,
        )
    )
    return found, errors, frozenset(seen)


def _failed(item: Item, message: str, cwd: str) -> Any:
    """The result of an item no worker could scan: a scan error naming it."""
    kind, what = item
    if kind == "data":
        return [], [ScanError(what[1], 0, 0, message.replace("{what}", "this file"))], 0
    text = message.replace("{what}", "this module or a module it calls")
    return [], [ScanError(display_path(what, cwd), 0, 0, text)], frozenset([what])


def _in_parallel(
    pool: _Pool,
    data_jobs: list[tuple[str, str, Settings]],
    cfn_parameters: dict[str, str] | None,
    modules: dict[str, list[tuple[str, str]]],
    cwd: str,
    var_files: list[str],
    variables: list[str],
    errors: list[ScanError],
    max_size: int,
    callers: dict[str, int],
    files: source.Files,
) -> tuple[list[tuple[list[Target], list[ScanError], int]], list[tuple[str, Target]]]:
    """Data files and Terraform roots in chunks across the workers; results as a serial scan
    produces them. The workers read through ``files``: a forked worker inherits it with the
    bytes read ahead, a spawned one gets its size limit."""
    global _shared
    shared = (modules, cwd, var_files, variables, callers, max_size, cfn_parameters, files)
    _shared = shared  # for items scanned in this process when no worker can start
    try:
        roots = [d for d in modules if not callers.get(d)]
        items: list[Item] = [("root", d) for d in roots]
        items += [("data", (path, shown)) for path, shown, _ in data_jobs]
        slots = pool.workers * CHUNKS_PER_WORKER
        units = _chunks(list(range(len(roots))), slots)
        units += _chunks(list(range(len(roots), len(items))), slots)
        results = _run(pool, shared, items, units, None)
        parsed = results[len(roots) :]
        pairs: list[tuple[str, Target]] = []
        reached: set[str] = set()
        _replay(roots, results[: len(roots)], pairs, errors, reached)
        # Scanned modules that only modules no root reached call: in sequence, as serially.
        rest = [d for d in modules if callers.get(d) and d not in reached]
        if rest:
            items = [("root", d) for d in rest]
            found = _run(pool, shared, items, [list(range(len(rest)))], frozenset(reached))
            _replay(rest, found, pairs, errors, reached)
        # What a serial scan reports even with no module to evaluate (--var-file errors).
        for _ in _terraform_modules(
            {},
            cwd,
            var_files,
            variables,
            errors,
            roots=[],
            callers={},
            max_size=max_size,
            files=files,
        ):
            pass
    finally:
        _shared = ()
    return parsed, pairs


def _replay(
    roots: list[str],
    results: list[Any],
    pairs: list[tuple[str, Target]],
    errors: list[ScanError],
    reached: set[str],
) -> None:
    """Keep the roots a serial scan evaluates: in order, those no kept root reached."""
    for root, result in zip(roots, results, strict=True):
        if result is None or root in reached:
            continue
        found, errs, seen = result
        pairs.extend(found)
        errors.extend(errs)
        reached |= seen


def _chunks(items: list[Any], slots: int) -> list[list[Any]]:
    if not items:
        return []
    size = max(1, -(-len(items) // slots))
    return [items[i : i + size] for i in range(0, len(items), size)]


class _NoWorkers(Exception):
    """Worker processes cannot be started here (no fork, a process limit)."""


def _run(
    pool: _Pool,
    shared: tuple[Any, ...],
    items: list[Item],
    units: list[list[int]],
    reached: frozenset[str] | None,
) -> list[Any]:
    """A result for every item, in order. Units run on ``pool.workers`` workers. When a worker
    dies, the units that were running are retried one at a time, each in a worker of its own;
    the item a lone worker dies (or hangs) on gets a scan error and the rest of its unit is
    queued again (each crashing item costs one worker start: time stays linear in the items).
    A hung worker is killed after ``WORKER_TIMEOUT`` seconds on one item. What
    cannot fail as a crash runs in this process, as a serial scan: a unit whose worker raised
    (a result that cannot be sent back), and everything when workers die before scanning."""
    results: list[Any] = [None] * len(items)
    cwd = shared[1]
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
            outcome = [("here", None)] * len(batch)
        if all(status == "waiting" for status, _ in outcome):  # no worker scanned anything
            here += batch + queue + suspects
            break
        for unit, (status, value) in zip(batch, outcome, strict=True):
            if status == "done":
                for i, result in zip(unit, value, strict=True):
                    results[i] = result
            elif status == "waiting":  # not started when the pool stopped: run it again
                queue.append(unit)
            elif status == "here":
                here.append(unit)
            elif status == "started":  # running when a worker died: find out alone
                suspects.append(unit)
            else:  # "culprit": (index in the unit, message)
                k, message = value
                results[unit[k]] = _failed(items[unit[k]], message, cwd)
                if len(unit) > 1:
                    queue.append(unit[:k] + unit[k + 1 :])
    for unit in here:
        for i, result in zip(unit, _work((0, [items[i] for i in unit], reached)), strict=True):
            results[i] = result
    return results


def _round(
    pool: _Pool,
    shared: tuple[Any, ...],
    items: list[Item],
    batch: list[list[int]],
    reached: frozenset[str] | None,
    workers: int,
) -> list[tuple[str, Any]]:
    """Run a batch of units on a new pool: for each unit ("done", results), ("waiting", None)
    (never started), ("started", None) (running when a worker died), ("culprit", (k,
    message)) (its k-th item killed or stalled a worker it had to itself) or ("here", None)
    (its worker raised an exception: to scan in this process)."""
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
    outcome: list[tuple[str, Any] | None] = [None] * len(batch)
    futures: dict[Future[list[Any]], int] = {}
    processes: list[Any] = []
    broken = stuck = False
    poll = max(0.02, min(1.0, WORKER_TIMEOUT / 4))
    try:
        try:
            for slot, unit in enumerate(batch):
                job = (slot, [items[i] for i in unit], reached)
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
                    outcome[slot] = ("done", future.result())
                except BrokenProcessPool:
                    broken = True
                except Exception:  # e.g. a result that cannot be sent back: not a crash
                    outcome[slot] = ("here", None)
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
                    outcome[slot] = ("culprit", (k, message))
                    broken = stuck = True
        if broken:
            _kill(processes)
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    how = _how_it_died(processes) if broken and not stuck else ""
    out: list[tuple[str, Any]] = []
    for future, slot in sorted(futures.items(), key=lambda pair: pair[1]):
        known = outcome[slot]
        if known is None and future.done() and not future.cancelled() and not future.exception():
            known = ("done", future.result())
        if known is None:
            k = progress[slot]
            if k < 0 or stuck:
                known = ("waiting", None)
            elif len(futures) == 1:
                known = ("culprit", (k, _DIED.replace("{how}", how)))
            else:
                known = ("started", None)
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
    findings: list[Finding], origins: dict[Finding, tuple[Target, Context]]
) -> list[Finding]:
    """One finding per place: the instances of a resource or module (``count``, ``for_each``)
    that all get the same finding at the same span are reported once, with their number. The
    same finding is the same rule, span and body once each target's instance names are written
    without their keys (:meth:`Target.generic`)."""
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
        if len(members) == 1:
            out.extend(members)
            continue
        label = f"{base} ({len(members)} instances)"
        merged = members[0]._replace(
            resource=base, message=f"[{label}] {body}", label=label, body=body
        )
        origins.setdefault(merged, origins[members[0]])
        out.append(merged)
    return out


def exit_code(result: ScanResult, exit_zero: bool = False) -> int:
    if result.errors:
        return 2
    if exit_zero:
        return 0
    threshold = SEVERITY_RANK[result.fail_on]
    failing = (f for f in result.findings if f.suppressed is None)
    return 1 if any(SEVERITY_RANK[f.severity] >= threshold for f in failing) else 0
