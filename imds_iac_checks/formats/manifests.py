"""Dependency manifests and lock files, as payloads the SDK-version analyser reads."""

from imds_iac_checks.model import Payload, ScanError
from imds_iac_checks.source import Files


def payloads(
    shown: str, data: bytes, *, origin: str | None = None, files: Files | None = None
) -> tuple[list[Payload], list[ScanError]]:
    """The payloads of one manifest (to be read by the SDK analyser)."""
    return [], []
