"""Subject-wise splits: a keyed hash of subject_id against the configured shares."""

from __future__ import annotations

from collections import Counter

import pytest

from stedi.config import parse_split
from stedi.contract.privacy import split_of, subject_id, subject_keys
from stedi.errors import SettingsError

KEY = b"a subject key of the tests, 32 bytes"
SUBJECTS = [subject_id(KEY, f"person{i}@example.com") for i in range(5000)]


@pytest.mark.parametrize("text", ["80/10/10", "70/20/10", "60/0/40"])
def test_shares_of_5000_subjects_are_within_two_points_of_the_configured_ones(text: str) -> None:
    shares = parse_split(text)
    counts = Counter(split_of(KEY, s, shares) for s in SUBJECTS)
    for name, share in zip(("train", "validation", "test"), shares, strict=True):
        assert abs(counts[name] / len(SUBJECTS) - share) <= 0.02, (name, counts)
    if shares[1] == 0:
        assert counts["validation"] == 0


def test_a_subject_keeps_its_split_whoever_else_arrives() -> None:
    shares = parse_split("80/10/10")
    alone = subject_keys(["a@example.com"], KEY, shares).to_pylist()[0]
    among = {r["email"]: r for r in subject_keys([f"p{i}@x.com" for i in range(300)] + ["a@example.com"], KEY,
                                                 shares).to_pylist()}  # fmt: skip
    assert among["a@example.com"]["split"] == alone["split"]


def test_the_split_depends_on_the_key() -> None:
    shares = parse_split("50/25/25")
    other = b"another subject key, also 32 bytes"
    assert [split_of(KEY, s, shares) for s in SUBJECTS[:200]] != [split_of(other, s, shares) for s in SUBJECTS[:200]]


@pytest.mark.parametrize("text", ["80/10", "80/10/5", "a/b/c", "-10/60/50", "nan/50/50", ""])
def test_shares_that_do_not_add_up_are_refused(text: str) -> None:
    with pytest.raises(SettingsError, match="--split"):
        parse_split(text)


@pytest.mark.parametrize(
    "key", [b"k", KEY, bytes(range(64)), bytes(range(200))]
)  # shorter, as long, longer than a block
def test_the_keys_of_many_emails_are_the_standard_hmac_of_each(key: bytes) -> None:
    import hashlib
    import hmac

    emails = ["jane@x.com", "", "zoë@exämple.com", "a" * 300 + "@x.com"]
    shares = parse_split("80/10/10")
    keys = subject_keys(emails, key, shares).to_pylist()
    expected_ids = [hmac.new(key, e.encode(), hashlib.sha256).hexdigest() for e in emails]
    assert [k["subject_id"] for k in keys] == expected_ids
    assert [k["split"] for k in keys] == [split_of(key, s, shares) for s in expected_ids]
