"""Orchestration: paths -> files -> Targets (adapters) -> Findings (engine).

This module picks the adapter for each file and imports it only when a file needs it.
"""

import os
import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from imds_iac_checks import source
from imds_iac_checks.config import DEFAULT_MAX_FILE_SIZE, Resolver, Settings
from imds_iac_checks.engine import Context, evaluate
from imds_iac_checks.link import link
from imds_iac_checks.model import SEVERITY_RANK, TOO_COMPLEX, Finding, ScanError, Span, Target

# Directories never walked into (explicitly named paths are still scanned).
SKIP_DIRS = frozenset({".git", ".terraform", "node_modules", ".terragrunt-cache", "__pycache__"})

Parser = Callable[[str, bytes], "tuple[list[Target], list[ScanError]]"]


def _hcl(path: str, data: bytes) -> tuple[list[Target], list[ScanError]]:
    from imds_iac_checks.formats import hcl

    return hcl.parse(path, data)


def _data(path: str, data: bytes) -> tuple[list[Target], list[ScanError]]:
    from imds_iac_checks.formats import data as data_files

    return data_files.parse(path, data)


_DATA_SUFFIXES = (".tf.json", ".json", ".yaml", ".yml", ".template")


def adapter_for(name: str) -> Parser | None:
    """The adapter for a file name, or None when no supported input has that name."""
    if name.endswith(".tf"):
        return _hcl
    if name.lower().endswith(_DATA_SUFFIXES):
        return _data
    return None


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
            if real not in seen and adapter_for(given) and not settings.excluded(absolute):
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
                if adapter_for(name) is None:
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
    try:
        targets = [t for _, t in _terraform_modules(listing, cwd, [], [], errors)]
    finally:
        source.forget_ahead()
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
) -> Iterator[tuple[str, Target]]:
    """Evaluate every directory of ``.tf`` files as a root module: ``(file, target)`` pairs.

    ``roots`` (default: every scanned directory that no other calls, then the rest) limits the
    walk; ``reached`` collects the directories evaluated; ``callers`` may be given when known."""
    from imds_iac_checks.formats import terraform_module as tfm

    cli_inputs: dict[str, tfm.VarInput] = {}
    for var_file in var_files:
        try:
            found, errs = tfm.var_inputs(var_file, display_path(var_file, cwd))
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
                parsed, errs = tfm.load_file(path, shown)
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
                found, errs = tfm.var_inputs(tfvars, display_path(tfvars, cwd))
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
    ) -> Iterator[Target]:
        reached.add(directory)
        module = tfm.Module(files_of(directory), inputs, root.work)
        for target in module.targets(prefix):
            root.targets += 1
            if every is not None:
                target = target._replace(instances=(target.instances or 1) * every)
            yield target
        on_disk = module.local_calls(directory, downloaded, key)
        local_names = {name for _, _, name, _ in on_disk}
        for src, block, name in module.module_calls:
            if name not in local_names:
                try:
                    yield from module.registry_targets(src, block, name, prefix)
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
                    )
                if instances and instances[0][2].cut is not None:
                    where, why = instances[0][2].cut
                    yield tfm.problem_target(tfm.MODULE_CALL, address, src, block, where, why)
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
        callers = _local_calls(directories)
    if roots is None:
        # Roots first; then any scanned directory no root reached (modules calling each other).
        roots = [d for d in directories if not callers.get(d)]
        roots += [d for d in directories if callers.get(d)]
    for directory in roots:
        if directory in reached:
            continue
        root = Root()
        try:
            downloaded = _downloaded(directory)
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


def _local_calls(directories: dict[str, list[tuple[str, str]]]) -> dict[str, int]:
    """How many local module calls in the scanned directories name each directory."""
    pattern = re.compile(rb'^[ \t]*source[ \t]*=[ \t]*"(\.\.?/[^"]*)"', re.MULTILINE)
    counts: dict[str, int] = {}
    real_keys: dict[str, str] = {}
    for directory in directories:
        try:
            names = [n for n in os.listdir(directory) if n.endswith(".tf")]
        except OSError:
            continue
        for name in names:
            try:
                data = source.read_ahead(os.path.join(directory, name))
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
    return ScanError(
        shown,
        0,
        0,
        f"skipped: {size / 1e6:.1f} MB is over the {limit / 1e6:g} MB limit "
        "(raise it with --max-file-size or max-file-size in the configuration)",
    )


def _downloaded(root: str) -> dict[str, str]:
    """Modules Terraform downloaded for a root (the registry module loads only if there are)."""
    if not os.path.exists(os.path.join(root, ".terraform", "modules", "modules.json")):
        return {}
    from imds_iac_checks.formats import terraform_registry

    return terraform_registry.downloaded(root)


def scan(
    paths: list[str],
    resolver: Resolver,
    cwd: str | None = None,
    *,
    var_files: list[str] | None = None,
    variables: list[str] | None = None,
    cfn_parameters: dict[str, str] | None = None,
) -> ScanResult:
    cwd = os.path.abspath(cwd or os.getcwd())
    findings: list[Finding] = []
    errors: list[ScanError] = []
    files = targets = 0
    first = resolver.for_path(paths[0]) if paths else resolver.for_dir(cwd)
    fail_on, max_size = first.fail_on, first.max_file_size
    # Targets are linked (launch-template inheritance) within a Terraform module directory or a
    # CloudFormation stack before the rules run, so they are grouped first.
    groups: dict[tuple[str, str], list[tuple[Target, Context, tuple[str, ...]]]] = {}
    modules: dict[str, list[tuple[str, str]]] = {}  # directory -> .tf files (path, shown)
    file_settings: dict[str, tuple[Context, tuple[str, ...]]] = {}
    data_jobs: list[tuple[str, str, Settings]] = []  # JSON and YAML files: (path, shown, ...)
    for path, settings in discover(paths, resolver, errors):
        adapter = adapter_for(path)
        assert adapter is not None
        shown = display_path(path, cwd)
        if adapter is _hcl:
            absolute = os.path.abspath(path)
            files += 1
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
    callers = _local_calls(modules)
    pool = _pool(len(modules), len(data_jobs))
    try:
        if pool is None:
            parsed = [_parse_data(path, shown, cfn_parameters) for path, shown, _ in data_jobs]
            pairs = list(
                _terraform_modules(
                    modules,
                    cwd,
                    var_files or [],
                    variables or [],
                    errors,
                    callers=callers,
                    max_size=max_size,
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
            )
    finally:
        source.forget_ahead()
        if pool is not None:
            pool.close()
            pool.join()
    for (path, _, settings), (found, errs, was_read) in zip(data_jobs, parsed, strict=True):
        errors.extend(errs)
        files += was_read
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

        findings = suppress.apply(findings, origins, cwd)
    findings.sort(key=lambda f: (f.path, f.span.line, f.span.column, f.rule_id))
    errors = sorted(set(errors), key=lambda e: (e.path, e.line, e.column, e.message))
    return ScanResult(findings, errors, files, targets, fail_on, origins)


def _parse_data(
    path: str, shown: str, cfn_parameters: dict[str, str] | None
) -> tuple[list[Target], list[ScanError], int]:
    """One JSON or YAML file: (targets, errors, 1 if it was read)."""
    try:
        data = source.read(path)
    except OSError as exc:
        return [], [ScanError(shown, 0, 0, f"cannot read: {exc.strerror or exc}")], 0
    try:
        if cfn_parameters:
            from imds_iac_checks.formats import data as data_files

            found, errs = data_files.parse(shown, data, cfn_parameters)
        else:
            found, errs = _data(shown, data)
    except Exception as exc:  # an adapter bug must not end the scan of the other files
        return [], [ScanError(shown, 0, 0, f"internal error: {type(exc).__name__}: {exc}")], 1
    return found, errs, 1


# --- parallel scans ---------------------------------------------------------------------------

# A tree this large (Terraform directories + JSON/YAML files) is scanned by a process pool; a
# smaller one (a pre-commit run, one project) serially, without the cost of starting workers.
PARALLEL_THRESHOLD = 200


def _pool(directories: int, data_files: int) -> Any:
    """A process pool for a large tree on a machine with several cores, else None. Never while
    the fixer records or overlays what files hold (those live in this process)."""
    if directories + data_files < PARALLEL_THRESHOLD or not source.plain():
        return None
    try:
        cores = len(os.sched_getaffinity(0))  # type: ignore[attr-defined,unused-ignore]
    except AttributeError:
        cores = os.cpu_count() or 1
    if cores < 2 or os.environ.get("IMDS_IAC_JOBS") == "1":
        return None
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return context.Pool(min(cores, 8))


def _in_parallel(
    pool: Any,
    data_jobs: list[tuple[str, str, Settings]],
    cfn_parameters: dict[str, str] | None,
    modules: dict[str, list[tuple[str, str]]],
    cwd: str,
    var_files: list[str],
    variables: list[str],
    errors: list[ScanError],
    max_size: int,
    callers: dict[str, int],
) -> tuple[list[tuple[list[Target], list[ScanError], int]], list[tuple[str, Target]]]:
    """Data files in chunks, and Terraform roots in chunks, across the pool; results in the
    order a serial scan produces them."""
    roots = [d for d in modules if not callers.get(d)]
    slots = len(pool._pool) * 4 if hasattr(pool, "_pool") else 8
    jobs: list[tuple[Any, ...]] = []
    for chunk in _chunks([(p, s) for p, s, _ in data_jobs], slots):
        jobs.append(("data", chunk, cfn_parameters))
    for chunk in _chunks(roots, slots):
        jobs.append(("terraform", chunk, modules, cwd, var_files, variables, callers, max_size))
    parsed: list[tuple[list[Target], list[ScanError], int]] = []
    pairs: list[tuple[str, Target]] = []
    reached: set[str] = set()
    for kind, result in pool.imap(_work, jobs):
        if kind == "data":
            parsed.extend(result)
        else:
            found, errs, seen = result
            pairs.extend(found)
            errors.extend(errs)
            reached |= seen
    rest = [d for d in modules if callers.get(d) and d not in reached]
    if rest:  # scanned modules that only other non-root modules call
        pairs += _terraform_modules(
            modules,
            cwd,
            var_files,
            variables,
            errors,
            roots=rest,
            reached=reached,
            callers=callers,
            max_size=max_size,
        )
    return parsed, pairs


def _chunks(items: list[Any], slots: int) -> list[list[Any]]:
    if not items:
        return []
    size = max(1, -(-len(items) // slots))
    return [items[i : i + size] for i in range(0, len(items), size)]


def _work(job: tuple[Any, ...]) -> tuple[str, Any]:
    """One chunk of a parallel scan, in a worker process."""
    if job[0] == "data":
        _, chunk, cfn_parameters = job
        return "data", [_parse_data(path, shown, cfn_parameters) for path, shown in chunk]
    _, roots, modules, cwd, var_files, variables, callers, max_size = job
    errors: list[ScanError] = []
    reached: set[str] = set()
    found = list(
        _terraform_modules(
            modules,
            cwd,
            var_files,
            variables,
            errors,
            roots=roots,
            reached=reached,
            callers=callers,
            max_size=max_size,
        )
    )
    return "terraform", (found, errors, reached)


# An instance key in an address: [0] or ["name"] (compiled by re on first use).
_INSTANCE_KEY = r'\[(?:\d+|"(?:[^"\\]|\\.)*")\]'


def merge_instances(
    findings: list[Finding], origins: dict[Finding, tuple[Target, Context]]
) -> list[Finding]:
    """One finding per place: the instances of a resource or module (``count``, ``for_each``)
    that all get the same finding at the same span are reported once, with their number."""
    groups: dict[tuple[str, Span, str, str], list[Finding]] = {}
    for f in findings:
        base = re.sub(_INSTANCE_KEY, "", f.resource)
        tail = re.sub(_INSTANCE_KEY, "", f.message.split("] ", 1)[-1])
        groups.setdefault((f.rule_id, f.span, base, tail), []).append(f)
    out = []
    for (_, _, base, tail), members in groups.items():
        if len(members) == 1:
            out.extend(members)
            continue
        label = f"{base} ({len(members)} instances)"
        merged = members[0]._replace(resource=base, message=f"[{label}] {tail}")
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
