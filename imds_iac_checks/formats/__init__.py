"""Input adapters: one module per input kind, each turning a file into Targets.

Adapters are imported lazily by :mod:`imds_iac_checks.scan` so that checking a Terraform file never
pays for the YAML machinery, and the reverse.
"""

import re
from fnmatch import fnmatchcase, translate
from typing import NamedTuple


class FileKind(NamedTuple):
    """What a file's name says it is: the one table that ``check`` (which files to read, and as
    what), :mod:`imds_iac_checks.formats.data` and ``fix`` (which syntax to edit) all read."""

    suffix: str  # lower case, matched ignoring case (except ``exact``)
    # "hcl", "json" or "yaml"; "" = JSON or YAML, whichever the content is; for files that are
    # not infrastructure code, the language they are read as ("shell", "python", "text", ...).
    syntax: str
    # What ``check`` reads a file of this name as: "terraform" (a .tf file of a module),
    # "terraform-json" (Terraform JSON syntax), "data" (JSON: a plan, a CloudFormation template
    # or EC2 API JSON, by content), "cloudformation", "terragrunt" (a terragrunt.hcl); "" = not
    # scanned (variable files).
    reads_as: str
    exact: bool = False  # scanned only with the suffix as written (Terraform loads ".tf" only)
    # Only a file directly inside a directory of this name (as written) is of this kind.
    directory: str = ""
    # A file whose base name matches this pattern (fnmatch, lower case) is of this kind,
    # whatever its suffix (``requirements*.txt``, ``dockerfile.*``); checked before suffixes.
    glob: str = ""

    @property
    def shown(self) -> str:
        """The names of this kind, as messages show them: ``.tf``, ``.ebextensions/*.config``."""
        if self.glob:
            return self.glob
        return f"{self.directory}/*{self.suffix}" if self.directory else self.suffix


# Files that run on instances, or pin what runs there (migration hazards, see
# imds_iac_checks/hazards): "script" files hold code (formats/scripts.py), "manifest" files pin
# dependencies (formats/manifests.py). Names first (``glob``), then suffixes.
_NAMED_KINDS = (
    FileKind("", "dockerfile", "script", glob="dockerfile"),
    FileKind("", "dockerfile", "script", glob="dockerfile.*"),
    FileKind("", "dockerfile", "script", glob="*.dockerfile"),
    FileKind("", "text", "manifest", glob="requirements*.txt"),
    FileKind("", "text", "manifest", glob="pyproject.toml"),
    FileKind("", "text", "manifest", glob="poetry.lock"),
    FileKind("", "json", "manifest", glob="pipfile.lock"),
    FileKind("", "text", "manifest", glob="uv.lock"),
    FileKind("", "json", "manifest", glob="package.json"),
    FileKind("", "json", "manifest", glob="package-lock.json"),
    FileKind("", "text", "manifest", glob="yarn.lock"),
    FileKind("", "text", "manifest", glob="go.mod"),
    FileKind("", "text", "manifest", glob="pom.xml"),
    FileKind("", "text", "manifest", glob="build.gradle"),
    FileKind("", "text", "manifest", glob="build.gradle.kts"),
    FileKind("", "text", "manifest", glob="gemfile.lock"),
    FileKind("", "json", "manifest", glob="composer.lock"),
    FileKind("", "text", "manifest", glob="*.csproj"),
    FileKind("", "json", "manifest", glob="packages.lock.json"),
)

# Longest suffix first: the first that matches decides.
FILE_KINDS = (
    *_NAMED_KINDS,
    # Packer templates: their provisioners run on the build instance (formats/scripts.py).
    FileKind(".pkr.json", "json", "script"),
    FileKind(".pkr.hcl", "hcl", "script"),
    # Packer variable files: read with the templates of their directory, edited by fixes.
    FileKind(".pkrvars.hcl", "hcl", ""),
    FileKind(".tf.json", "json", "terraform-json"),
    FileKind(".tf", "hcl", "terraform", exact=True),
    FileKind(".tfvars", "hcl", ""),
    # A Terragrunt unit: evaluated with the module it names (formats/terraform/terragrunt.py).
    FileKind("terragrunt.hcl", "hcl", "terragrunt", exact=True),
    FileKind(".json", "json", "data"),
    FileKind(".yaml", "yaml", "cloudformation"),
    FileKind(".yml", "yaml", "cloudformation"),
    FileKind(".template", "", "cloudformation"),
    # Elastic Beanstalk configuration files (formats/ebextensions.py): ``.config`` is read only
    # in a source bundle's ``.ebextensions`` directory, where Elastic Beanstalk reads it.
    FileKind(".config", "", "ebextensions", directory=".ebextensions"),
    FileKind(".sh", "shell", "script"),
    FileKind(".bash", "shell", "script"),
    FileKind(".ps1", "powershell", "script"),
    FileKind(".service", "systemd", "script"),
    FileKind(".py", "python", "script"),
    FileKind(".js", "javascript", "script"),
    FileKind(".mjs", "javascript", "script"),
    FileKind(".cjs", "javascript", "script"),
    FileKind(".ts", "javascript", "script"),
    FileKind(".go", "go", "script"),
    FileKind(".java", "java", "script"),
)
_ANY_SUFFIX = tuple(kind.suffix for kind in FILE_KINDS if kind.suffix)
_GLOBS = tuple(kind for kind in FILE_KINDS if kind.glob)
# Every glob in one pattern: most names match none, and are ruled out by one search.
_ANY_GLOB = re.compile("|".join(f"(?:{translate(kind.glob)})" for kind in _GLOBS))


def kind_of(name: str) -> FileKind | None:
    """The kind of a file name (its suffix ignoring case; a kind bound to a ``directory`` needs
    the path's parent directory), or None."""
    lower = name.lower()
    base = lower[max(lower.rfind("/"), lower.rfind("\\")) + 1 :]
    if _ANY_GLOB.match(base):
        for kind in _GLOBS:
            if fnmatchcase(base, kind.glob):
                return kind
    if not lower.endswith(_ANY_SUFFIX):
        return None
    return next(
        (
            kind
            for kind in FILE_KINDS
            if kind.suffix
            and lower.endswith(kind.suffix)
            and (not kind.directory or _parent(name) == kind.directory)
        ),
        None,
    )


def _parent(path: str) -> str:
    """The name of the directory a path names its file in ("" for a bare name), with either
    separator."""
    parts = path.replace("\\", "/").split("/")
    return parts[-2] if len(parts) > 1 else ""


def scanned_kind(name: str) -> FileKind | None:
    """The kind of a file name ``check`` reads, or None when it reads no file of that name."""
    kind = kind_of(name)
    if kind is None or not kind.reads_as or (kind.exact and not name.endswith(kind.suffix)):
        return None
    return kind


def syntax_of(name: str, data: bytes) -> str:
    """ "hcl", "json" or "yaml": by the name, else by the content (JSON starts with ``{`` or
    ``[``)."""
    kind = kind_of(name)
    if kind is not None and kind.syntax:
        return kind.syntax
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"{", b"[") else "yaml"
