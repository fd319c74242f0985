"""Who a row is about: email normalisation, email arguments, and addresses found in free text.

The contract compares emails after trimming white space and lower-casing them. That rule is written
here once, as Python and as the SQL macro `normalised_email(x)` that every transform uses (DuckDB
defines the macro, other engines get it expanded by SQLGlot).

Finding addresses in text (quarantined raw lines, landing file names) is linear in the text: each
`@` is looked at once, and the runs around it are bounded by the longest address there can be.
"""

from __future__ import annotations

TRIM_CHARS = " \t\r\n"
EMAIL_MACRO = "normalised_email"
# The macro's body, over its one argument `x`.
EMAIL_SQL = "LOWER(TRIM(BOTH ' ' || CHR(9) || CHR(10) || CHR(13) FROM x))"

LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._%+-")  # an address's local part, in text
DOMAIN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
MAX_LOCAL, MAX_DOMAIN = 64, 255  # RFC 5321: no address part is longer
DATA_SUFFIXES = (".jsonl.gz", ".json.gz", ".jsonl", ".json")


def normalise_email(email: str) -> str:
    return email.strip(TRIM_CHARS).lower()


def email_argument(text: str) -> str | None:
    """The normalised address, when `text` is an email address (one `@`, parts on both sides, no
    white space or control characters); None otherwise."""
    email = normalise_email(text)
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain or len(email) > MAX_LOCAL + MAX_DOMAIN + 1:
        return None
    if any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in email):
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
    lowered = text.lower()
    found: set[str] = set()
    at = lowered.find("@")
    while at != -1:
        start = at
        while start > 0 and at - start < MAX_LOCAL and lowered[start - 1] in LOCAL_CHARS:
            start -= 1
        end = at + 1
        while end < len(lowered) and end - at <= MAX_DOMAIN and lowered[end] in DOMAIN_CHARS:
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
