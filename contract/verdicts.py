"""One verdict per input: whether a URL, a whole number or a choice is acceptable, and why not.

Every channel asks here and nowhere else: the form and its upload, the JSON API (its models,
web.bodies, call these rules), the CLI, and the worker before it fetches a URL or follows a
redirect. So a URL the form takes is one the API takes and the worker fetches, and each refusal
has one message.

Pure (urllib.parse, ipaddress, re) apart from `contract.urls.client_disagreement`, which asks the
two HTTP clients the worker fetches with whether they read a URL alike; it lives in contract/
because the worker, which may not import producer or web, must apply the same rule.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from typing import Any, TypeVar

from contract.urls import client_disagreement

MAX_URL_LENGTH = 2048
#: The longest whole number a form or a command line may spell (a billion is past every limit).
MAX_DIGITS = 9


class InvalidInput(ValueError):
    """Bad input, with the field (and line) it concerns: shown to users, never a traceback."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"error": self.message, "field": self.field}


# --- URLs ------------------------------------------------------------------------------------

_PORT = "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LABEL_END = "([A-Za-z0-9-]*[A-Za-z0-9])?"
_H16 = "[0-9A-Fa-f]{1,4}"
#: An IPv6 address in hex groups (no embedded dotted quad, no zone), in brackets.
_IPV6 = (
    "\\[("
    f"({_H16}:){{7}}{_H16}|({_H16}:){{1,7}}:|({_H16}:){{1,6}}:{_H16}|"
    f"({_H16}:){{1,5}}(:{_H16}){{1,2}}|({_H16}:){{1,4}}(:{_H16}){{1,3}}|"
    f"({_H16}:){{1,3}}(:{_H16}){{1,4}}|({_H16}:){{1,2}}(:{_H16}){{1,5}}|"
    f"{_H16}:(:{_H16}){{1,6}}|:((:{_H16}){{1,7}}|:)"
    ")\\]"
)
#: A canonical dotted quad, a bracketed IPv6 address, or an ASCII name whose last label starts
#: with a letter: a last label that is a number (`127.1`, `0x7f`, `2130706433`) is read as an
#: address by libc and refused by aiohttp, so the two HTTP clients would not agree on it.
HOST = f"({_OCTET}(\\.{_OCTET}){{3}}|{_IPV6}|([A-Za-z0-9]{_LABEL_END}\\.)*[A-Za-z]{_LABEL_END}\\.?)"
#: After the host: anything but whitespace and control characters (a lone surrogate, which no
#: regex dialect of the document spells alike, is refused before the pattern is asked).
_REST = "[/?#][^\\s\\x00-\\x1f\\x7f-\\x9f]*"
#: Every URL fanout takes, as a regular expression valid in Python and in ECMA-262 (the OpenAPI
#: document states it as the URLs' `pattern`). `url_problem` also asks the two HTTP clients.
URL_PATTERN = f"[Hh][Tt][Tt][Pp][Ss]?://{HOST}(:{_PORT})?({_REST})?"

_URL = re.compile(URL_PATTERN)
_HOST = re.compile(HOST)
_PORT_RE = re.compile(_PORT)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def url_problem(url: object) -> str | None:
    """What is wrong with one URL (a reason that names no URL: the caller shows it), or None:
    the same answer for every channel."""
    if not isinstance(url, str):
        return f"expected a URL string, got {type(url).__name__}"
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        return "the URL is not valid Unicode (it holds a lone surrogate)"
    if not url:
        return "empty URL"
    if len(url) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH} characters"
    if any(ch.isspace() or ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in url):
        return "URL contains a space or a control character"
    if _URL.fullmatch(url) is None:
        return _why_not(url)
    problem = client_disagreement(url)
    return None if problem is None else f"the URL {problem}"


def _why_not(url: str) -> str:
    """The reason a URL fails URL_PATTERN, in words."""
    scheme = _SCHEME.match(url)
    if scheme is None or scheme[1].lower() not in ("http", "https"):
        name = scheme[1].lower() if scheme else ""
        return f"scheme {name!r} is not http(s)"
    after = url[scheme.end() :]
    if not after.startswith("//"):
        return "not an http(s) URL (no // after the scheme)"
    authority = re.split(r"[/?#]", after[2:], maxsplit=1)[0]
    if "@" in authority:
        return "userinfo (user@host) in a URL is not allowed"
    host, port = authority, None
    if not authority.endswith("]") and ":" in authority:
        host, _, port = authority.rpartition(":")
    if not host:
        return "URL has no host"
    if _HOST.fullmatch(host) is None:
        disagreement = client_disagreement(url)
        if disagreement is not None:
            return f"the URL {disagreement}"
        if not host.isascii():
            return "write a non-ASCII host name in its IDNA form (xn--…)"
        return (
            "the host must be a name (letters, digits, dots, dashes; the last label starts "
            "with a letter), a dotted IPv4 address or a bracketed IPv6 address"
        )
    if port is not None and _PORT_RE.fullmatch(port) is None:
        return "the port must be a number from 1 to 65535"
    return "not an http(s) URL of the form http(s)://host[:port][/path]"


# --- numbers and choices -------------------------------------------------------------------

E = TypeVar("E", bound=Enum)


def whole_number(value: Any, field: str, low: int, high: int) -> int:
    """`value` as an int from `low` to `high`: a JSON number (3, or 3.0, which JSON Schema calls
    an integer too) or text of ASCII digits (a form, a command line); else InvalidInput.
    Booleans, signs, underscores and non-ASCII digits (full-width, Arabic-Indic) are not
    numbers here."""
    message = f"{field} must be between {low} and {high}, an integer"
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS):
            raise InvalidInput(field, f"{message} in ASCII digits (got {value[:20]!r})")
        value = int(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(field, f"{message} (got {str(value)[:20]})")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InvalidInput(field, f"{message} (got {value!r})")
    if not low <= value <= high:
        raise InvalidInput(field, f"{message} (got {value!r})")
    return int(value)


def choice(enum: type[E], field: str, value: Any) -> E:
    """The member of `enum` whose value is `value`, else InvalidInput naming the choices."""
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(str(member.value) for member in enum)
        raise InvalidInput(field, f"{field} must be one of: {choices} (got {value!r})") from None


def fetches_problem(urls: int, strategies: int, repeat: int, limit: int) -> str | None:
    """Why a submission asks too much work, or None: its fetches are URLs x strategies x repeat,
    and FANOUT_MAX_FETCHES bounds them (else one comparison could ask 60 times the URL limit)."""
    fetches = urls * strategies * repeat
    if fetches <= limit:
        return None
    return (
        f"{urls} URLs x {strategies} strategies x repeat {repeat} = {fetches} fetches, more than "
        f"the limit of {limit} per submission (FANOUT_MAX_FETCHES)"
    )
