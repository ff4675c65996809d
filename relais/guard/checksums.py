"""Check digits of the identifiers the guard looks for, through python-stdnum.

A pattern alone flags batch numbers and product codes; the check digit is what tells a real
NIR, IBAN, SIRET or card number from a number that merely has the right length. The arithmetic is
python-stdnum's (maintained, and it knows the cases a hand-written check forgets: Corsica's 2A/2B
departments in a NIR, La Poste's SIRET numbers); these wrappers only accept the separators and
letter case people type.
"""

from __future__ import annotations

import re

from stdnum import iban, luhn
from stdnum.fr import nir, siren, siret

_SEPARATORS = re.compile(r"[\s.\-\u00a0\u202f]")


def strip_separators(text: str) -> str:
    """The identifier without spaces, line breaks, dots or hyphens, upper-cased."""
    return _SEPARATORS.sub("", text).upper()


def nir_is_valid(text: str) -> bool:
    """Whether a French social-security number (NIR, 15 characters) has a correct key."""
    return nir.is_valid(strip_separators(text))


def nir_without_key_is_valid(text: str) -> bool:
    """Whether 13 characters are a NIR without its key (right sex, month, department; the key is computed)."""
    number = strip_separators(text)
    return len(number) == 13 and nir.is_valid(number + nir.calc_check_digits(number))


def luhn_is_valid(text: str) -> bool:
    """Whether a digit string passes the Luhn check (payment cards)."""
    digits = strip_separators(text)
    return digits.isdigit() and luhn.is_valid(digits)


def company_number_is_valid(text: str) -> bool:
    """Whether a SIREN (9 digits) or SIRET (14 digits) is valid, La Poste's SIRET rule included."""
    number = strip_separators(text)
    return siren.is_valid(number) if len(number) == 9 else siret.is_valid(number)


def iban_is_valid(text: str) -> bool:
    """Whether an IBAN passes the ISO 13616 mod-97 check (any country, any letter case).

    The national check inside the BBAN is not required: an IBAN whose inner key was mistyped is
    still someone's bank account, and mod 97 alone already rejects 96 numbers in 97.
    """
    return iban.is_valid(strip_separators(text), check_country=False)
