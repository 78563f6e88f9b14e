"""How text inserted into a payload is written in the file that holds it.

A :class:`~imds_iac_checks.model.Piece` names its escape as layers joined by ``+``, innermost
first (``sub+json``: inside an ``Fn::Sub`` string, inside a JSON string), each a name of
:data:`LAYERS` with an optional ``:argument``. :func:`encode` applies them in that order; a
layer that cannot hold the text (or an empty escape) makes the insertion impossible.
"""

from collections.abc import Callable


def _raw(text: str, argument: str) -> str | None:
    return text


# Layer name -> encoder(text, argument) -> the text as written, or None when it cannot be.
LAYERS: dict[str, Callable[[str, str], str | None]] = {
    "raw": _raw,
}


def encode(escape: str, text: str) -> str | None:
    """``text`` as it must be written into a piece with this escape, or None when it cannot
    be (no escape, or a layer that cannot hold it)."""
    if not escape:
        return None
    for layer in escape.split("+"):
        name, _, argument = layer.partition(":")
        encoder = LAYERS.get(name)
        if encoder is None:
            return None
        encoded = encoder(text, argument)
        if encoded is None:
            return None
        text = encoded
    return text
