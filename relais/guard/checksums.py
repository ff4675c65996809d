"""Check digits of the identifiers the guard looks for.

A pattern alone flags batch numbers and product codes; the check digit is what tells a real
NIR, IBAN, SIRET or card number from a number that merely has the right length.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-\u00a0\u202f]")

# Corsica departments replace two digits of the NIR by a letter; the key is computed on the
# number with 2A read as 19 and 2B as 18.
_CORSICA = {"2A": "19", "2B": "18"}


def strip_separators(text: str) -> str:
    """The identifier without spaces, dots or hyphens, upper-cased."""
    return _SEPARATORS.sub("", text).upper()


def nir_is_valid(text: str) -> bool:
    """Whether a French social-security number (NIR, 15 characters) has a correct key.

    The key is 97 - (first 13 digits mod 97); Corsica's 2A/2B departments count as 19/18.

    Args:
        text: the NIR, with or without separators.

    Returns:
        True when the two last digits are the key of the 13 first.
    """
    nir = strip_separators(text)
    if len(nir) != 15:
        return False
    body, key = nir[:13], nir[13:]
    department = body[5:7]
    body = body[:5] + _CORSICA.get(department, department) + body[7:]
    if not (body.isdigit() and key.isdigit()):
        return False
    return 97 - int(body) % 97 == int(key)


def luhn_is_valid(text: str) -> bool:
    """Whether a digit string passes the Luhn check (SIREN, SIRET, payment cards).

    Args:
        text: the number, with or without separators.

    Returns:
        True when the Luhn sum is a multiple of 10.
    """
    digits = strip_separators(text)
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_is_valid(text: str) -> bool:
    """Whether an IBAN passes the ISO 13616 mod-97 check (any country).

    Args:
        text: the IBAN, with or without spaces.

    Returns:
        True when the rearranged number mod 97 is 1.
    """
    iban = strip_separators(text)
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    as_digits = "".join(str(int(char, 36)) for char in rearranged)
    return int(as_digits) % 97 == 1
