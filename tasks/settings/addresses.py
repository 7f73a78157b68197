"""The one rule an e-mail address must pass: `check-config` and delivery both apply it.

Internationalised addresses (a mailbox or domain with letters other than ASCII, which need
the SMTPUTF8 extension) are refused: smtplib through yagmail sends the envelope as ASCII, and
a government mail server that offers SMTPUTF8 is not to be counted on. A domain can always be
written in its ASCII form (xn--...), which the message names.
"""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

__all__ = ["address_problem"]

# One plain address: no display name, spaces, quotes, brackets, commas or line breaks.
_PLAIN = re.compile(r"^[^@\s\"(),:;<>\[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


def _ascii_domain(domain: str) -> str | None:
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def address_problem(address: str) -> str | None:
    """Return why `address` cannot be sent to ("" stripped first), or None when it can."""
    stripped = address.strip()
    if not stripped.isascii():
        local, _, domain = stripped.rpartition("@")
        hint = ""
        if local.isascii() and domain and (ascii_domain := _ascii_domain(domain)):
            hint = f"; write the domain in ASCII: {local}@{ascii_domain}"
        return (
            f"{address!r} holds letters other than ASCII: internationalised addresses "
            f"(SMTPUTF8) are not supported{hint}"
        )
    try:
        validate_email(stripped, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        return f"{address!r} is not an e-mail address ({error})"
    if not _PLAIN.match(stripped):
        return (
            f"{address!r} is not a single plain address "
            "(no spaces, line breaks, commas, brackets or quotes)"
        )
    return None
