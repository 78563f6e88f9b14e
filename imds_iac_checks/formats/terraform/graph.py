"""The module graph: directories of ``.tf`` files evaluated as root modules, with the modules
they call (local sources, and modules Terraform downloaded), within bounds on the whole graph.
"""

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from imds_iac_checks import source
from imds_iac_checks.formats.terraform import module as tfm
from imds_iac_checks.model import TOO_COMPLEX, LinkKind, ScanError, Span, Target
from imds_iac_checks.source import display_path, too_big


class TfFile(NamedTuple):
    """A ``.tf`` file to scan: its path, and the path findings show."""

    path: str
    shown: str


# What the walk parses a .tf file with (path, shown path, the Files to read it through):
# ``module.load_file`` or a wrapper (see shared_loads).
Load = Callable[[str, str, source.Files], "tuple[tfm.ParsedFile | None, list[ScanError]]"]


def _load_file(
    path: str, shown: str, files: source.Files
) -> tuple[tfm.ParsedFile | None, list[ScanError]]:
    return tfm.load_file(path, shown, files=files)


def terraform_targets(
    directories: list[str], cwd: str | None = None
) -> tuple[list[Target], list[ScanError]]:
    """Evaluate directories of ``.tf`` files as ``check`` does (roots, local module calls) and
    return the Targets: for tools and differential tests that want values, not findings."""
    cwd = os.path.abspath(cwd or os.getcwd())
    listing: dict[str, list[TfFile]] = {}
    for directory in directories:
        absolute = os.path.abspath(directory)
        names = sorted(n for n in os.listdir(absolute) if n.endswith(".tf"))
        listing[absolute] = [
            TfFile(os.path.join(absolute, n), display_path(os.path.join(absolute, n), cwd))
            for n in names
        ]
    errors: list[ScanError] = []
    found = list(targets(listing, cwd, [], errors, files=source.Files()))
    return found, errors


def targets(
    directories: dict[str, list[TfFile]],
    cwd: str,
    variables: Sequence[tuple[str, str]],
    errors: list[ScanError],
    *,
    environment: Mapping[str, str] | None = None,
    roots: list[str] | None = None,
    reached: set[str] | None = None,
    callers: dict[str, int] | None = None,
    max_size: int = source.DEFAULT_LIMIT,
    load: Load | None = None,
    files: source.Files,
    wanted: "Callable[[str], int] | None" = None,
    units: "Sequence[tuple[str, dict[str, tfm.VarInput], Any]]" = (),
) -> Iterator[Target]:
    """Evaluate every directory of ``.tf`` files as a root module: the targets, each with the
    file it is in as its ``path``. ``files`` reads them, the variable files and ``modules.json``.

    ``variables`` are the command line's ``("--var", "NAME=VALUE")`` and ``("--var-file",
    PATH)`` in command-line order; ``environment`` the ``TF_VAR_name`` variables (names without
    the prefix), read only when given (the scan never reads the process environment itself).

    ``roots`` (default: every scanned directory that no other calls, then the rest) limits the
    walk; ``reached`` collects the directories evaluated; ``callers`` may be given when known;
    ``load`` parses a file (default: ``module.load_file``). ``wanted`` (a scan of named files,
    see :class:`Reach`) prunes the walk: for a module directory, :data:`SKIP` (its calls are not
    followed), :data:`TOWARD` (only its calls toward a wanted module are) or :data:`ALL`
    (everything below it is). Each target records the module calls it was made through
    (``Target.module_calls``): a finding in a module reached from several roots names its root.

    ``units`` (Terragrunt, see :mod:`.terragrunt`): ``(directory, inputs, rest)`` evaluated as
    roots first, each with ``inputs`` under the root's own (``TF_VAR_``, variable files, the
    command line); ``rest``, when not None, is the value of every variable the unit does not
    set (an unknown: an included file that was not read may set it)."""
    env_inputs = tfm.env_var_inputs(environment or {})
    cli_inputs: dict[str, tfm.VarInput] = {}
    for flag, given_text in variables:
        if flag == "--var-file":
            try:
                found, errs = tfm.var_inputs(given_text, display_path(given_text, cwd), files)
            except OSError as exc:
                errors.append(ScanError(given_text, 0, 0, f"cannot read: {exc.strerror or exc}"))
                continue
            errors.extend(errs)
            cli_inputs.update(found)
            continue
        given = tfm.cli_var_input(given_text)
        if given is None:  # the command line checks this first (cli._terraform_variables)
            errors.append(ScanError("--var", 0, 0, f"expected NAME=VALUE, not {given_text!r}"))
        else:
            cli_inputs[given[0]] = given[1]
    loaded: dict[str, list[tfm.ParsedFile]] = {}
    asked = {file.path for listing in directories.values() for file in listing}

    def files_of(directory: str) -> list[tfm.ParsedFile]:
        """The parsed .tf files of a directory: the scanned ones, or all of a called module's."""
        if directory in loaded:
            return loaded[directory]
        # A module is all its .tf files: files named one by one (pre-commit passes the changed
        # ones) are evaluated with their siblings, which supply variables and locals.
        listed = list(directories.get(directory, ()))
        given = {os.path.basename(file.path) for file in listed}
        try:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".tf"))
        except OSError:
            names = []
        listed += [
            TfFile(p, display_path(p, cwd))
            for p in (os.path.join(directory, n) for n in names if n not in given)
        ]
        listed.sort(key=lambda file: os.path.basename(file.path))
        parse = load or _load_file
        parsed_files = []
        for path, shown in listed:
            # A sibling read only for its variables reports nothing: it is not asked for.
            report = errors if directory not in directories or path in asked else []
            try:
                over = too_big(path, shown, max_size, files)
                if over is not None:
                    report.append(over)
                    continue
                parsed, errs = parse(path, shown, files)
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
        inputs: dict[str, tfm.VarInput] = dict(env_inputs)  # the lowest precedence
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

    def walk(
        directory: str,
        inputs: dict[str, tfm.VarInput],
        prefix: str,
        stack: tuple[str, ...],
        downloaded: dict[str, str],
        root: _Root,
        call_path: tuple[str, ...] = (),
        every: int | None = None,
        names: tuple[tuple[str, str], ...] = (),
        mode: int = ALL,
        calls: tuple[Span, ...] = (),
    ) -> Iterator[Target]:
        """The targets of ``directory`` called as ``call_path`` (module names from the root),
        then of the modules it calls. ``names``: the instance names of this module instance
        (Target.instance_names); ``mode``: which calls are followed (see ``wanted``);
        ``calls``: the module blocks this instance was made through (``Target.module_calls``)."""
        reached.add(directory)
        module = tfm.Module(
            files_of(directory), inputs, root.work, (directory, stack[0], cwd, files)
        )
        for target in module.targets(prefix, names):
            root.targets += 1
            if every is not None:
                target = target._replace(instances=(target.instances or 1) * every)
            if calls:
                target = target._replace(module_calls=calls)
            yield target
        on_disk = module.local_calls(directory, downloaded, call_path)
        local_names = {name for _, _, name, _ in on_disk}
        for src, block, name in module.module_calls:
            if name not in local_names:
                try:
                    made = module.registry_targets(src, block, name, prefix, names)
                    if not made:  # not on disk, not modelled: said, never passed silently
                        initialized = bool(downloaded)
                        warning = module.unevaluated_call(
                            src, block, name, prefix, names, initialized=initialized
                        )
                        made = [warning] if warning is not None else []
                    here = (*calls, src.span(block))
                    made = [target._replace(module_calls=here) for target in made]
                    yield from made
                except Exception as exc:  # a defect costs this call, not the rest of the module
                    _call_failed(src, block, name, exc, errors)
        for src, block, name, child in on_disk:
            child = canonical(child)
            child_mode = ALL
            if wanted is not None and mode != ALL:
                child_mode = wanted(child)
                if child_mode == SKIP:
                    continue
            if not os.path.isdir(child):
                missing = display_path(child, cwd)
                warning = module.unevaluated_call(
                    src, block, name, prefix, names, missing_directory=f"directory {missing}"
                )
                if warning is not None:
                    yield warning._replace(module_calls=calls)
                continue
            if child in stack or len(stack) > MAX_MODULE_DEPTH:
                line = src.span(block).line
                errors.append(
                    ScanError(src.path, line, 1, f"module {name}: calls itself or nests too deep")
                )
                continue
            address = f"{prefix}module.{name}"
            try:
                instances = module.call_instances(src, block, address)
                when = None  # the call exists only under this input (off by default)
                if not instances:
                    off = module.call_off_by_default(src, block, address)
                    if isinstance(off, Target):  # said, never passed silently
                        yield off._replace(instance_names=names, module_calls=calls)
                    elif off is not None:
                        instances, when = off
                for suffix, child_inputs, expansion in instances:
                    if root.modules >= ROOT_MODULES or root.targets >= ROOT_TARGETS:
                        site = (src.path, block.start_byte)
                        cut_call = root.cut.get(site)
                        if cut_call is None:
                            cut_call = root.cut[site] = _Cut(src, block, address)
                        cut_call.skipped += 1
                        continue
                    root.modules += 1
                    times = expansion.every
                    below = walk(
                        child,
                        child_inputs,
                        f"{address}{suffix}.",
                        (*stack, child),
                        downloaded,
                        root,
                        (*call_path, name),
                        every if times is None else (every or 1) * times,
                        ((f"{address}{suffix}", address), *names) if suffix else names,
                        child_mode,
                        (*calls, src.span(block)),
                    )
                    if when is None:
                        yield from below
                    else:
                        yield from (_only_when(target, when) for target in below)
                if instances and instances[0][2].cut is not None:
                    where, why = instances[0][2].cut
                    cut = tfm.problem_target(
                        tfm.MODULE_CALL, address, src, block, where, why, LinkKind.TOO_COMPLEX
                    )
                    yield cut._replace(instance_names=names, module_calls=calls)
            except Exception as exc:  # a defect costs this call, not the rest of the module
                _call_failed(src, block, name, exc, errors)

    # A scanned directory that another scanned module calls is evaluated through that call. The
    # calls are found in the bytes (a local `source` is always a literal), without parsing, and
    # counted: a parsed module stays in memory only while another call may still need it.
    if callers is None:
        callers = count_callers(directories, files)
    if roots is None:
        # Roots first; then any scanned directory no root reached (modules calling each other).
        roots = [d for d in directories if not callers.get(d)]
        roots += [d for d in directories if callers.get(d)]
    for directory, unit_inputs, rest in units:
        reached.add(directory)
        root = _Root()
        try:
            inputs = dict(unit_inputs)
            if rest is not None:
                declared = tfm.Module(files_of(directory), {}).variables
                for name in declared:
                    inputs.setdefault(name, tfm.VarInput(None, None, "", rest))
            inputs.update(root_inputs(directory))
            downloaded = _downloaded(directory, files)
            yield from walk(directory, inputs, "", (directory,), downloaded, root)
        except Exception as exc:  # never lose the rest of the tree to one unit
            shown = display_path(directory, cwd)
            errors.append(ScanError(shown, 0, 0, f"internal error: {type(exc).__name__}: {exc}"))
        yield from _cut_targets(root)
    for directory in roots:
        if directory in reached:
            continue
        root = _Root()
        try:
            downloaded = _downloaded(directory, files)
            mode = ALL if wanted is None else wanted(directory)
            yield from walk(
                directory, root_inputs(directory), "", (directory,), downloaded, root, mode=mode
            )
        except Exception as exc:  # never lose the rest of the tree to one module
            shown = display_path(directory, cwd)
            errors.append(ScanError(shown, 0, 0, f"internal error: {type(exc).__name__}: {exc}"))
        yield from _cut_targets(root)
        for done in [d for d in loaded if callers.get(d, 0) <= 1]:
            del loaded[done]


def _only_when(target: Target, when: str) -> Target:
    """A target of a module call that exists only under ``when`` (see
    ``Module.call_off_by_default``): its findings say so."""
    inner = target.only_when
    return target._replace(only_when=when if inner is None else f"{when}, and {inner}")


class _Cut:
    """A module call with instances past the root's bounds: how many were not evaluated."""

    __slots__ = ("address", "block", "skipped", "src")

    def __init__(self, src: Any, block: Any, address: str) -> None:
        self.src = src
        self.block = block
        self.address = address
        self.skipped = 0


class _Root:
    """What one root has cost so far: module instances, targets and evaluation steps (shared by
    every module under it), and the module calls cut at the bounds, by (file, byte offset)."""

    __slots__ = ("cut", "modules", "targets", "work")

    def __init__(self) -> None:
        self.modules = 0
        self.targets = 0
        self.work = [ROOT_STEPS]
        self.cut: dict[tuple[str, int], _Cut] = {}


def _cut_targets(root: _Root) -> Iterator[Target]:
    """An IMDS004 target for each module call not evaluated past the root's bounds."""
    for cut in root.cut.values():
        src, block = cut.src, cut.block
        why = (
            f"{TOO_COMPLEX}: this root makes more than {ROOT_MODULES:,} module instances or "
            f"{ROOT_TARGETS:,} resource instances; {cut.skipped:,} instance(s) of this call "
            "were not evaluated"
        )
        named = block.named_children
        where = src.span(named[0], named[1]) if len(named) > 1 else src.span(block)
        yield tfm.problem_target(
            tfm.MODULE_CALL, cut.address, src, block, where, why, LinkKind.TOO_COMPLEX
        )


def _call_failed(src: Any, block: Any, name: str, exc: Exception, errors: list[ScanError]) -> None:
    message = f"module {name}: internal error: {type(exc).__name__}: {exc}"
    errors.append(ScanError(src.path, src.span(block).line, 1, message))


def _directory_key(
    child: str, directories: dict[str, list[TfFile]], real_keys: dict[str, str]
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


# A local module source in the bytes of a .tf file: at the start of a line, after a one-line
# block's `{` or after a `/* comment */` (a local `source` is always a literal).
_LOCAL_SOURCE = re.compile(rb'(?:^|\{|\*/)[ \t]*source[ \t]*=[ \t]*"(\.\.?/[^"]*)"', re.MULTILINE)


def count_callers(directories: dict[str, list[TfFile]], files: source.Files) -> dict[str, int]:
    """How many local module calls in the scanned directories name each directory (the bytes
    are kept in ``files`` for the parse)."""
    pattern = _LOCAL_SOURCE
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


def _downloaded(root: str, files: source.Files) -> dict[str, str]:
    """Modules Terraform downloaded for a root (the registry module loads only if there are)."""
    if not os.path.exists(os.path.join(root, ".terraform", "modules", "modules.json")):
        return {}
    from imds_iac_checks.formats.terraform import registry

    return registry.downloaded(root, files)


def shared_loads(callers: dict[str, int]) -> Load:
    """``module.load_file`` remembering the files of modules that several module calls name: a
    worker evaluates each root on its own, and would otherwise parse such a module for every root
    that calls it, where a serial scan keeps it parsed. Errors are returned (so reported) each
    time."""
    parsed: dict[tuple[str, str], tuple[tfm.ParsedFile | None, list[ScanError]]] = {}

    def load_file(
        path: str, shown: str, files: source.Files
    ) -> tuple[tfm.ParsedFile | None, list[ScanError]]:
        if callers.get(os.path.dirname(os.path.abspath(path)), 0) < 2:
            return tfm.load_file(path, shown, files=files)
        key = (path, shown)
        if key not in parsed:
            parsed[key] = tfm.load_file(path, shown, files=files)
        return parsed[key]

    return load_file


# --- the modules that reach a named file (a scan of files named one by one) ------------------

# How the walk follows the module calls of a directory (``targets(wanted=...)``).
SKIP = 0  # not at all: nothing below it leads to a wanted module
TOWARD = 1  # only the calls toward a wanted module
ALL = 2  # every call: a wanted module (values flow from it into what it calls)

# Bounds on the search for the callers of a named file's module: the .tf files read and the
# directory entries listed. Past either the search stops (what was read still counts), so a huge
# tree costs a bounded time (about 0.2 s for the 6,800 .tf files of the 2,000-module benchmark
# tree; the bounds allow some 20 times that).
MAX_REACH_FILES = 20_000
MAX_REACH_ENTRIES = 200_000


class Reach:
    """The local module calls of a tree of ``.tf`` files, found in the bytes (no parse): which
    directories call each module directory, so that a module's callers, and the root modules
    above them, can be found. ``complete`` is False when the search stopped at its bound."""

    __slots__ = ("callers", "complete", "counts")

    def __init__(self) -> None:
        self.callers: dict[str, set[str]] = {}  # module directory -> the directories calling it
        self.counts: dict[str, int] = {}  # module directory -> its number of calls
        self.complete = True

    @classmethod
    def index(
        cls, paths: Iterable[str], read: Callable[[str], bytes], bound: int | None = None
    ) -> "Reach":
        """The calls in the ``.tf`` files ``paths`` (absolute, normalized), read by ``read``
        (an unreadable file calls nothing), from at most ``bound`` files (default:
        :data:`MAX_REACH_FILES`)."""
        if bound is None:
            bound = MAX_REACH_FILES
        reach = cls()
        directories: set[str] = set()
        edges: list[tuple[str, str]] = []
        for n, path in enumerate(paths):
            if n >= bound:
                reach.complete = False
                break
            directory = os.path.dirname(path)
            directories.add(directory)
            try:
                data = read(path)
            except OSError:
                continue
            if b"module" not in data:
                continue
            for match in _LOCAL_SOURCE.finditer(data):
                raw = match.group(1).decode("utf-8", "replace")
                edges.append((directory, os.path.normpath(os.path.join(directory, raw))))
        real: dict[str, str] | None = None
        for caller, child in edges:
            if child not in directories:  # through a symbolic link: the directory it names
                if real is None:
                    real = {os.path.realpath(d): d for d in sorted(directories)}
                child = real.get(os.path.realpath(child), child)
            if child == caller:
                continue
            reach.counts[child] = reach.counts.get(child, 0) + 1
            reach.callers.setdefault(child, set()).add(caller)
        return reach

    def above(self, directories: "set[str]") -> tuple[list[str], set[str]]:
        """The root modules (directories no module of the tree calls) from which one of
        ``directories`` is reached, in sorted order, and every directory on the way,
        ``directories`` included. A directory no module calls is its own root."""
        seen = set(directories)
        todo = sorted(seen)
        roots: set[str] = set()
        while todo:
            directory = todo.pop()
            callers = self.callers.get(directory)
            if not callers:
                roots.add(directory)
                continue
            for caller in callers:
                if caller not in seen:
                    seen.add(caller)
                    todo.append(caller)
        return sorted(roots), seen


class Wanted:
    """``targets(wanted=...)`` for a scan of named files: :data:`ALL` for the directories in
    ``full`` (a named file's module, a root whose variable file is named), :data:`TOWARD` for
    those on the way to one (``toward``), else :data:`SKIP`. Directories compare as written,
    then by real path (a module reached through a symbolic link)."""

    __slots__ = ("_real", "full", "toward")

    def __init__(self, full: "set[str]", toward: "set[str]") -> None:
        self.full = full
        self.toward = toward
        self._real: dict[str, int] | None = None

    def __call__(self, directory: str) -> int:
        if directory in self.full:
            return ALL
        if directory in self.toward:
            return TOWARD
        if self._real is None:
            self._real = {os.path.realpath(d): TOWARD for d in self.toward}
            self._real.update((os.path.realpath(d), ALL) for d in self.full)
        return self._real.get(os.path.realpath(directory), SKIP)
