"""Where `stedi recover` finds the subject key's fingerprint when the catalog that held it is lost."""

from __future__ import annotations

import json
from pathlib import Path

from stedi.pipeline.recover import CARD_FILE, MAX_CARD_BYTES, _key_fingerprint
from stedi.warehouse import erased_copy

FINGERPRINT = "0123456789abcdef0123456789abcdef"


def test_the_copy_of_the_ledger_names_it_first(tmp_path: Path) -> None:
    erased_copy.write(str(tmp_path), {"a" * 64}, FINGERPRINT)
    (tmp_path / CARD_FILE).write_text(json.dumps({"subject_key_fingerprint": "f" * 32}))
    assert _key_fingerprint(tmp_path) == FINGERPRINT


def test_without_it_the_last_dataset_card_does(tmp_path: Path) -> None:
    (tmp_path / CARD_FILE).write_text(json.dumps({"subject_key_fingerprint": FINGERPRINT}))
    assert _key_fingerprint(tmp_path) == FINGERPRINT


def test_a_card_that_is_a_link_too_large_or_not_a_fingerprint_names_none(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({"subject_key_fingerprint": FINGERPRINT}))
    warehouse = tmp_path / "wh"
    warehouse.mkdir()
    (warehouse / CARD_FILE).symlink_to(elsewhere)
    assert _key_fingerprint(warehouse) is None
    (warehouse / CARD_FILE).unlink()
    with (warehouse / CARD_FILE).open("wb") as huge:  # sparse: never read
        huge.truncate(MAX_CARD_BYTES + 1)
    assert _key_fingerprint(warehouse) is None
    (warehouse / CARD_FILE).write_text(json.dumps({"subject_key_fingerprint": "not hex!"}))
    assert _key_fingerprint(warehouse) is None
