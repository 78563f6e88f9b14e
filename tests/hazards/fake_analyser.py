"""A stand-in analyser for the wiring tests: every ``CALL <url>`` line is an IMDSv1 call, fixed
by inserting ``TOKEN `` before it (the same insertion point for every call of a line)."""

from collections.abc import Iterator

from imds_iac_checks.model import METADATA_CALL, Found, Payload


def find(payload: Payload) -> Iterator[Found]:
    text = payload.text
    at = text.find("CALL ")
    while at >= 0:
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        yield Found(
            METADATA_CALL,
            at,
            end,
            f"CALL {text[at + 5 : end]} without a session token",
            edits=((at, at, "TOKEN "),),
            change="adds a token",
        )
        at = text.find("CALL ", end)
