"""Encrypted fields keep no plaintext in the database, rotate keys, and are found
through a keyed blind index."""

import base64
import hashlib
import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from crm.fields import blind_index, decrypt_text, encrypt_text, normalise_for_index
from crm.models import User
from crm.selectors import user_search
from crm.services import user_update_profile

pytestmark = pytest.mark.django_db


def _raw_mobile(user: User) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile FROM crm_user WHERE id = %s", [user.pk])
        return cursor.fetchone()[0]


def _set_mobile(user: User, raw: str) -> User:
    return user_update_profile(actor=user, user_id=user.pk, data={"mobile": raw})


def test_raw_column_holds_no_plaintext_and_value_round_trips(rep):
    _set_mobile(rep, "138 0013 8000")
    raw = _raw_mobile(rep)
    assert "13800138000" not in raw
    assert "8000" not in raw
    assert User.objects.get(pk=rep.pk).mobile == "+8613800138000"


def test_same_value_encrypts_differently_each_time(rep, other_rep):
    _set_mobile(rep, "13800138000")
    _set_mobile(other_rep, "13800138000")
    assert _raw_mobile(rep) != _raw_mobile(other_rep)


def test_encrypted_field_refuses_comparison_lookups():
    with pytest.raises(FieldError):
        list(User.objects.filter(mobile="+8613800138000"))


def test_rotation_reencrypts_with_first_key_and_old_keys_still_decrypt(rep, other_rep, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    _set_mobile(rep, "13800138000")
    _set_mobile(other_rep, "13912345678")
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    # Before rotation the old tokens still read under the new key list.
    assert User.objects.get(pk=rep.pk).mobile == "+8613800138000"
    with pytest.raises(InvalidToken):
        Fernet(new_key).decrypt(_raw_mobile(rep).encode())

    call_command("rotate_encryption_keys", batch_size=1, stdout=io.StringIO())

    for user, plain in ((rep, "+8613800138000"), (other_rep, "+8613912345678")):
        assert Fernet(new_key).decrypt(_raw_mobile(user).encode()).decode() == plain
        assert User.objects.get(pk=user.pk).mobile == plain
        with pytest.raises(InvalidToken):
            Fernet(old_key).decrypt(_raw_mobile(user).encode())


def test_rotation_is_resumable_and_a_second_run_changes_nothing(rep, settings):
    _set_mobile(rep, "13800138000")
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        settings.FIELD_ENCRYPTION_KEYS[0],
    ]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    token = _raw_mobile(rep)
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    assert _raw_mobile(rep) == token


def test_blind_index_finds_by_normalised_value_in_any_spelling(rep, other_rep):
    _set_mobile(rep, "+86 138-0013-8000")
    for spelling in (
        "13800138000",
        "138 0013 8000",
        "+8613800138000",
        "0086 138 0013 8000",
        "１３８００１３８０００",
    ):
        assert list(user_search(user=other_rep, query=spelling)) == [rep], spelling


def test_blind_index_is_keyed_not_a_plain_hash(settings):
    value = "+8613800138000"
    plain = hashlib.sha256(normalise_for_index(value).encode()).hexdigest()
    keyed = blind_index(value)
    assert keyed != plain
    settings.BLIND_INDEX_KEY = "another-key"
    assert blind_index(value) != keyed


def test_blind_index_normalises_case_width_and_spaces():
    assert blind_index(" Li.Na@Example.CN ") == blind_index("li.na@example.cn")
    assert blind_index("ｌｉ") == blind_index("li")
    assert blind_index("") == ""


@pytest.mark.parametrize("text", ["", "a", "x" * 15, "y" * 16, "z" * 17, "+8613800138000",
                                  "上海市浦东新区世纪大道100号", "é" * 40])  # fmt: skip
def test_tokens_are_fernet_both_ways(text, settings):
    """Our fast path writes what Fernet reads and reads what Fernet wrote."""
    fernet = Fernet(settings.FIELD_ENCRYPTION_KEYS[0])
    if text:
        assert fernet.decrypt(encrypt_text(text).encode()).decode() == text
    token = fernet.encrypt(text.encode()).decode()
    assert decrypt_text(token) == text


def test_a_tampered_token_is_refused_and_an_old_keys_token_still_reads(settings):
    token = encrypt_text("+8613800138000")
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[30] ^= 1  # one bit of the ciphertext
    with pytest.raises(ValueError, match="cannot be read"):
        decrypt_text(base64.urlsafe_b64encode(bytes(raw)).decode())
    old = Fernet.generate_key().decode()
    old_token = Fernet(old).encrypt(b"13800138000").decode()
    settings.FIELD_ENCRYPTION_KEYS = [settings.FIELD_ENCRYPTION_KEYS[0], old]
    assert decrypt_text(old_token) == "13800138000"
