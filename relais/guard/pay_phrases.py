"""Pay that the amount rules alone miss (round 13), and the figures of a pay statement.

Amounts written in words (« twenty-nine thousand pounds »), months of pay (« 18 mois de salaire »), a change in
thousands without a currency (« il passe de 38 k à 43,7 k »), counts of shares in a grant, the signed percentage
before a pay statement (« +15 % (il passe de … ») and the other figures of a sentence that already states a pay
(« j'ai 2 734,18 net alors que d'hab c'est 2 910 »).

Only the figures are masked, never the pay noun around them: « salaire annuel brut <SALAIRE> » says no more than the
mask's own label, and keeps what the model needs to answer (gross or net, monthly or yearly). Round 13 first widened
each amount to its whole phrase (« <SALAIRE> pour <PERSONNE> »); that hid the request's meaning for no privacy gain,
and was undone before merging (benchmarks/guard.py reports SALAIRE both strictly and by its figures).
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult

_NUMBER_WORDS = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                 r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
                 r"hundred|thousand|million|and|a|un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|"
                 r"douze|treize|quatorze|quinze|seize|vingts?|trente|quarante|cinquante|soixante|cents?|mille|"
                 r"millions?|et)")
# An amount in words (« twenty-nine thousand pounds », « trente-deux mille euros »): a scale word is needed.
WORD_AMOUNT = regex.compile(
    rf"(?i:(?<![\w-]){_NUMBER_WORDS}(?:[\s-]+{_NUMBER_WORDS})*?[\s-]+(?:thousand|hundred|mille|cents?|millions?)"
    rf"(?:[\s-]+{_NUMBER_WORDS})*?[^\S\n]+(?:pounds|euros|dollars|francs|livres)(?![\w]))"
)
# Months or weeks of pay (« 18 mois de salaire d'indemnité », « 12 weeks' pay »).
MONTHS_OF_PAY = regex.compile(
    r"(?i:(?<![\w.,])\d{1,2}(?:[.,]\d)?[^\S\n]+(?:mois|months?|semaines?|weeks?)['’]?[^\S\n]+(?:de[^\S\n]+|of[^\S\n]+)?"
    r"(?:salaire|salary|pay|wages?|rémunération)(?:[^\S\n]+d['’](?:indemnité|indemnisation))?(?![\w]))"
)
# Another figure of a sentence that states a pay (« … 2 734,18 net alors que d'hab c'est 2 910 »): a number
# with a thousands separator, or with net/gross after it, not followed by a unit.
_SIBLING = regex.compile(
    r"(?<![\w.,])(?:\d{1,3}[ \u00a0\u202f]\d{3}|\d{3,6})(?:[.,]\d{1,2})?[^\S\n]+(?:nets?|bruts?|gross)(?![\w])"
    r"|(?<![\w.,])\d{1,3}[ \u00a0\u202f]\d{3}(?:[.,]\d{1,2})?(?![\w]|[.,]\d|[^\S\n]*[\d%a-zA-ZÀ-ÿ€$£])"
)
_SENTENCE = regex.compile(r"[.!?](?=\s|$)|\n")
# A grant of shares named as such (« Attribution gratuite d'actions 2024 — X : 6 000 actions », « share grants:
# Ana 1,500 shares »): every count of shares in it.
_GRANT = regex.compile(r"(?i:attributions?\s+(?:gratuites?\s+)?d['’]actions|actions\s+gratuites|share\s+grants?|"
                       r"grants?\s+of\s+shares|equity\s+grants?|stock\s+awards?)")
_SHARE_COUNT = regex.compile(r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f.,]\d{3})*[^\S\n]+"
                             r"(?i:actions|shares|PSUs?|RSUs?)(?![\w])")
# A change of pay in thousands without a currency (« il passe de 38 k à 43,7 k », « going from 54k to 61k »).
K_RANGE = regex.compile(
    r"(?i:(?<![\w])(?:(?:il|elle|he|she)\s+)?(?:passe|passera|passes|goes|going|moves?|moving)\s+(?:de|from)\s+\d{1,3}(?:[.,]\d{1,2})?[^\S\n]?k"
    r"\s+(?:à|to)\s+\d{1,3}(?:[.,]\d{1,2})?[^\S\n]?k)(?![\w])"
)
# A signed percentage right before a pay statement is its rise (« pour +15 % (il passe de … »).
_SIGNED_BEFORE = regex.compile(r"(?<![\w.,])[+][^\S\n]?\d{1,2}(?:[.,]\d{1,2})?[^\S\n]?%[^\S\n]*\(?[^\S\n]*$")
# A percentage that the pay after it spells out is that pay's rise (« augmentation proposée de 3,5 % soit 44 900 € »).
_SPELLED_OUT_BEFORE = regex.compile(r"(?<![\w.,])(?P<value>\d{1,2}(?:[.,]\d{1,2})?[^\S\n]?%)[^\S\n]*,?[^\S\n]*"
                                    r"(?i:soit|i\.e\.,?|that\s+is|c['’]est-à-dire)[^\S\n]*$")


def share_grants(text: str, kind: str, score: float) -> list[RecognizerResult]:
    """Counts of shares in the sentence of a grant of shares."""
    found = []
    for grant in _GRANT.finditer(text):
        end_match = _SENTENCE.search(text, grant.end())
        end = end_match.start() if end_match else len(text)
        found += [RecognizerResult(kind, m.start(), m.end(), score)
                  for m in _SHARE_COUNT.finditer(text, grant.end(), end)]
    return found


def with_pay_figures(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """The amounts of pay found, plus the signed percentage before each and the other figures of their sentences."""
    spans = sorted(results, key=lambda r: r.start)
    extra = []
    for result in spans:
        signed = _SIGNED_BEFORE.search(text, max(0, result.start - 12), result.start)
        if signed:
            extra.append(RecognizerResult(result.entity_type, signed.start(), result.end, result.score))
        spelled = _SPELLED_OUT_BEFORE.search(text, max(0, result.start - 30), result.start)
        if spelled:
            start, end = spelled.span("value")
            extra.append(RecognizerResult(result.entity_type, start, end, result.score))
    return results + extra + _siblings(text, spans)


def _siblings(text: str, spans: list[RecognizerResult]) -> list[RecognizerResult]:
    """Bare figures in the sentence of an amount of pay: the same statement compares them."""
    found, seen = [], set()
    for result in spans:
        start = max((m.end() for m in _SENTENCE.finditer(text, max(0, result.start - 200), result.start)),
                    default=max(0, result.start - 200))
        end_match = _SENTENCE.search(text, result.end)
        end = end_match.start() if end_match else len(text)
        if (start, end) in seen:
            continue
        seen.add((start, end))
        found += [RecognizerResult(result.entity_type, m.start(), m.end(), result.score)
                  for m in _SIBLING.finditer(text, start, end)]
    return found
