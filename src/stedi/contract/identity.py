"""Who a row is about: email normalisation, email arguments, and addresses found in free text.

The contract compares emails after trimming white space and lower-casing them. That rule is written
here once, as Python and as the SQL macro `normalised_email(x)` that every transform uses (DuckDB
defines the macro, other engines get it expanded by SQLGlot).

Finding addresses in text (quarantined raw lines, landing file names) is linear in the text: each
`@` is looked at once, and the runs around it are bounded by the longest address there can be.
"""

from __future__ import annotations

import re
import unicodedata

TRIM_CHARS = " \t\r\n"
EMAIL_MACRO = "normalised_email"
_TRIMMED = "TRIM(BOTH ' ' || CHR(9) || CHR(10) || CHR(13) FROM x)"
# The macro's body, over its one argument `x`.
EMAIL_SQL = f"LOWER({_TRIMMED})"
# Lower-casing is Unicode's full mapping, as Python's `str.lower` and Java's (Spark's) do it: a capital
# sigma ending a word becomes ς, and İ becomes i and a combining dot. DuckDB's LOWER maps each
# character alone (so ΟΔΟΣ would be οδοσ, not οδος), so DuckDB's macro hands text that is not ASCII
# to a function that lower-cases it in Python (`UNICODE_LOWER`); ASCII, nearly every address, stays
# in SQL (a string is ASCII when its bytes are as many as its characters).
UNICODE_LOWER = "stedi_unicode_lower"
EMAIL_SQL_DUCKDB = f"CASE WHEN strlen(x) = length(x) THEN {EMAIL_SQL} ELSE {UNICODE_LOWER}({_TRIMMED}) END"

LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._%+-")  # an address's local part, in text
DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
MAX_LOCAL, MAX_DOMAIN = 64, 255  # RFC 5321: no address part is longer
DATA_SUFFIXES = (".jsonl.gz", ".json.gz", ".jsonl", ".json")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})(?:\\u(d[c-f][0-9a-f]{2}))?", re.IGNORECASE)


def normalise_email(email: str) -> str:
    return email.strip(TRIM_CHARS).lower()


def email_argument(text: str) -> str | None:
    """The normalised address, when `text` is an email address (one `@`, parts on both sides, no
    space or control character); None otherwise. Other white space (a no-break space) is kept: the
    contract trims only space, tab, CR and LF, so a stored address may hold it, and its person must
    be erasable by naming it."""
    email = normalise_email(text)
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or len(email) > MAX_LOCAL + MAX_DOMAIN + 1:
        return None
    if any(c == " " or ord(c) < 32 or c == "\x7f" for c in email):
        return None
    return email


def addresses_in(text: str, *, truncate_domains: bool = False) -> set[str]:
    """Addresses that stand whole in `text` (lower-cased).

    For each `@`: the run of address characters before it, and the run of domain characters after
    it, without trailing dots and hyphens (`jane@x.com.` at the end of a sentence is `jane@x.com`;
    `jane@x.com.au` is not `jane@x.com`). With `truncate_domains` (file names, where redacting too
    much harms no one), shorter candidates too: the local part after a `.`, `_`, `-` or `+`, and the
    domain before a dot or hyphen: `export-jane@x.com-2024` gives `jane@x.com`.
    """
    found: set[str] = set()
    if "\\u" in text:  # an address may be written with JSON escapes (`\u03a3`) in a raw line
        found |= _addresses(_JSON_ESCAPE.sub(_unescaped, text), truncate_domains)
    return found | _addresses(text, truncate_domains)


def _unescaped(match: re.Match[str]) -> str:
    """A JSON escape as its character: a pair of surrogates as one; a lone surrogate as written."""
    code, low = int(match.group(1), 16), match.group(2)
    if low is not None and 0xD800 <= code <= 0xDBFF:
        return chr(0x10000 + ((code - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    first = match.group(0)[:6] if 0xD800 <= code <= 0xDFFF else chr(code)
    return first + ("" if low is None else match.group(0)[6:])


def _in_address(c: str, ascii_chars: frozenset[str]) -> bool:
    """Whether `c` can be part of an address: the ASCII ones of `ascii_chars`, or a letter, digit or
    combining mark beyond ASCII (international addresses: `οδος@x.gr`, `i̇van@x.com`)."""
    if c < "\x80":
        return c in ascii_chars
    return c.isalnum() or unicodedata.category(c).startswith("M")


def _addresses(text: str, truncate_domains: bool) -> set[str]:
    lowered = text.lower()
    found: set[str] = set()
    at = lowered.find("@")
    while at != -1:
        start = at
        while start > 0 and at - start < MAX_LOCAL and _in_address(lowered[start - 1], LOCAL_CHARS):
            start -= 1
        end = at + 1
        while end < len(lowered) and end - at <= MAX_DOMAIN and _in_address(lowered[end], DOMAIN_CHARS):
            end += 1
        local, domain = lowered[start:at], lowered[at + 1 : end].rstrip(".-")
        if local and domain:
            found.add(f"{local}@{domain}")
            if truncate_domains:
                locals_ = [local] + [local[i + 1 :] for i, c in enumerate(local) if c in "._-+" and local[i + 1 :]]
                domains = [domain] + [domain[:i] for i, c in enumerate(domain) if c in ".-" and i]
                found.update(f"{a}@{b}" for a in locals_ for b in domains)
        at = lowered.find("@", at + 1)
    return found


def path_stem(path: str) -> str:
    """A landing path without its data suffix, so that `jane@x.com.json` shows the address whole."""
    lowered = path.lower()
    for suffix in DATA_SUFFIXES:
        if lowered.endswith(suffix):
            return path[: -len(suffix)]
    return path


def addresses_in_path(path: str) -> set[str]:
    return addresses_in(path_stem(path), truncate_domains=True)


def redact_path(path: str, addresses: dict[str, str]) -> str:
    """`path` with each address of `addresses` (address -> replacement) replaced, in any case."""
    lowered = path.lower()
    if len(lowered) != len(path):  # lower-casing changed the length: redact the lower-cased text
        path = lowered
    for address, replacement in sorted(addresses.items(), key=lambda item: -len(item[0])):
        at = lowered.find(address)
        while at != -1:
            path = path[:at] + replacement + path[at + len(address) :]
            lowered = lowered[:at] + replacement + lowered[at + len(address) :]
            at = lowered.find(address, at + len(replacement))
    return path
