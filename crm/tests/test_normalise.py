"""Real-world spellings of phones, e-mails and names, and what they become."""

import pytest
from django.core.exceptions import ValidationError

from crm.normalise import (
    email_mask,
    email_normalise,
    name_normalise,
    phone_display,
    phone_mask,
    phone_normalise,
)

PHONES = [
    ("13800138000", "+8613800138000"),
    ("138 0013 8000", "+8613800138000"),
    ("138-0013-8000", "+8613800138000"),
    ("1380 013 8000", "+8613800138000"),
    ("+86 138 0013 8000", "+8613800138000"),
    ("+86-138-0013-8000", "+8613800138000"),
    ("+8613800138000", "+8613800138000"),
    ("8613800138000", "+8613800138000"),
    ("86 138 0013 8000", "+8613800138000"),
    ("008613800138000", "+8613800138000"),
    ("0086 138 0013 8000", "+8613800138000"),
    ("(+86) 138 0013 8000", "+8613800138000"),
    ("１３８００１３８０００", "+8613800138000"),
    ("１３８－００１３－８０００", "+8613800138000"),
    ("＋８６ １３８ ００１３ ８０００", "+8613800138000"),
    (" 13800138000 ", "+8613800138000"),
    ("138.0013.8000", "+8613800138000"),
    ("19912345678", "+8619912345678"),
    ("15012345678", "+8615012345678"),
    ("010-88888888", "+861088888888"),
    ("(010)88888888", "+861088888888"),
    ("（010）8888 8888", "+861088888888"),
    ("010 8888 8888", "+861088888888"),
    ("+86 10 8888 8888", "+861088888888"),
    ("0755-8888 8888", "+8675588888888"),
    ("021-6123 4567", "+862161234567"),
    ("400-810-8888", "+864008108888"),
    ("+1 650 253 0000", "+16502530000"),
    ("+852 9123 4567", "+85291234567"),
    ("+44 20 7946 0958", "+442079460958"),
]
REJECTED = [
    "12345",
    "1380013800",
    "138001380001",
    "abc",
    "138-0013-800O",
    "95588",
    "+86",
    "0000000000",
]


@pytest.mark.parametrize(("raw", "e164"), PHONES)
def test_phone_spellings_become_e164(raw, e164):
    assert phone_normalise(raw) == e164


@pytest.mark.parametrize("raw", REJECTED)
def test_phone_that_is_not_a_number_is_refused_with_a_code(raw):
    with pytest.raises(ValidationError) as exc:
        phone_normalise(raw)
    assert exc.value.code == "invalid_phone"


def test_empty_phone_stays_empty():
    assert phone_normalise("  ") == ""


def test_phone_display_and_mask():
    assert phone_display("+8613800138000") == "+86 138 0013 8000"
    assert phone_mask("+8613800138000") == "138****8000"
    # A landline keeps its area code as dialled (was 108****8888, 216****8888).
    assert phone_mask("+861088888888") == "010****8888"
    assert phone_mask("+862188889999") == "021****9999"
    assert phone_mask("+8675512345678") == "0755****5678"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (" Zhang.San@Example.COM ", "zhang.san@example.com"),
        ("ｌｉ＠ｅｘａｍｐｌｅ．ｃｎ", "li@example.cn"),
    ],
)
def test_email_is_trimmed_and_lower_cased(raw, clean):
    assert email_normalise(raw) == clean


@pytest.mark.parametrize("raw", ["zhang", "zhang@", "@example.com", "a b@example.com"])
def test_bad_email_is_refused_with_a_code(raw):
    with pytest.raises(ValidationError) as exc:
        email_normalise(raw)
    assert exc.value.code == "invalid_email"


def test_email_mask():
    assert email_mask("zhangsan@example.com") == "z***@example.com"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  张三 ", "张三"),
        ("张 三", "张三"),
        ("张　三", "张三"),
        ("John   Smith", "John Smith"),
        ("Ｊｏｈｎ", "John"),
    ],
)
def test_names_are_tidied(raw, clean):
    assert name_normalise(raw) == clean


def test_the_mobile_fast_path_agrees_with_phonenumbers_on_random_numbers():
    """Imports check Chinese mobiles by their 号段 (first seven digits); any
    eleven-digit number starting with 1 must get the same answer as a full parse."""
    import random

    import phonenumbers

    from crm import normalise

    rng = random.Random(20261125)  # noqa: S311 - test data
    for _ in range(20_000):
        number = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        try:
            fast = normalise.phone_normalise(number)
        except ValidationError:
            fast = None
        try:
            parsed = phonenumbers.parse(number, "CN")
        except phonenumbers.NumberParseException:
            parsed = None
        valid = parsed is not None and (
            phonenumbers.is_valid_number(parsed)
            and phonenumbers.number_type(parsed) in normalise._VALID_TYPES
        )
        assert fast == ("+86" + number if valid else None), number
