"""The whole pay phrase around an amount of pay (round 13).

Masking « 62 000 € » alone in « salaire annuel brut 62 000 € » leaves « salaire annuel brut » and says what was
hidden; the same for « prime de signature de 5 000 € », « from £54k to £61k », « base €96k + housing €2,400/month ».
Once the salary rules found an amount of pay, this module widens it to what states the pay: the pay noun and its
qualifiers before it, the range it belongs to (« de X à Y », « from X to Y »), the items chained to it (« + housing »,
« plus 20% bonus », « au lieu des »), and what follows it (« max », « annuels », « (inc. 12 weeks PILON) »). It also
reads amounts written in words (« twenty-nine thousand pounds »), months of pay (« 18 mois de salaire ») and the
other figures of a sentence that already states a pay (« j'ai 2 734,18 net alors que d'hab c'est 2 910 »).
"""

from __future__ import annotations

import regex
from presidio_analyzer import RecognizerResult

LEAD_REACH = 60  # characters before an amount where its pay noun may start
CHAIN_GAP = 30  # at most this many characters between two amounts of one pay statement

# What is paid (the head of the phrase) and the words that qualify it (« annual », « retention », « one-off »).
_HEAD = (r"(?:salaires?|salary|rémunérations?|remuneration|primes?|bonus|bonuses|base|package|indemnités?|"
         r"payment|paiement|compensation|pay|wages?|augmentation|raise|pay\s+rise|merit\s+increase|"
         r"increase|gratification|variable|fixe|prétentions?|grant|award|attribution)")
_QUALIFIER = (r"(?:annual|annuel(?:le)?|monthly|mensuel(?:le)?|retention|signing|sign-on|one-off|year-end|"
              r"performance|target|termination|exceptionnelle?|gross|net|brut(?:e)?|total|new|nouveau|nouvelle)")
# « salaire annuel brut », « prime de signature de », « annual bonus of », « base to », « augmentation sera de »,
# « Rémunération à la sortie : »: the head, up to three words, a preposition or a colon, right before the amount.
_LEAD = regex.compile(
    rf"(?i:(?<![\w])(?:{_QUALIFIER}\s+){{0,2}}{_HEAD}(?:[^\S\n]+[\w'’-]+|[^\S\n]*['’][\w-]+){{0,4}}?"
    r"[^\S\n]*(?:de|d['’]|of|to|à|at|is|=|:|est|sera\s+de|will\s+be)?[^\S\n]*"
    # or what the amount changes from (« il passe de », « is going from », « (from »)
    r"|(?<![\w])(?:(?:il|elle|he|she|it)\s+)?(?:passe|passera|passes|goes|is\s+going|going|moves?|rises?|"
    r"increased|raised|porté|portée)?[^\S\n]*(?:de|from)[^\S\n]+)$"
)
# Between two amounts of one statement (« to », « à », « + housing », « base plus », « au lieu des », « , LTI grant
# of »): no figure, no sentence end.
_CHAIN = regex.compile(
    r"(?i:[^\S\n]*(?:\+|plus|and|et|,|;)?[^\S\n]*(?:to|à|au\s+lieu\s+des?|instead\s+of)?[^\S\n]*"
    r"(?:[\w'’-]+[^\S\n]+){0,4}?)"
)
# What follows the amount and still states it: a cap, a period, a target, a car, a parenthesis with a figure.
_TAIL = regex.compile(
    r"(?i:[^\S\n]*(?:max(?:imum)?|annuels?|annuelles?|annual|a\s+year|cibles?|target|"
    r"\+[^\S\n]*(?:voiture|véhicule|car|company\s+car|logement|housing))(?![\w])"
    r"|[^\S\n]*\((?=[^()\n]{0,40}\d)[^()\n]{1,60}\))"
)
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


def share_grants(text: str, kind: str, score: float) -> list[RecognizerResult]:
    """Counts of shares in the sentence of a grant of shares."""
    found = []
    for grant in _GRANT.finditer(text):
        end_match = _SENTENCE.search(text, grant.end())
        end = end_match.start() if end_match else len(text)
        found += [RecognizerResult(kind, m.start(), m.end(), score)
                  for m in _SHARE_COUNT.finditer(text, grant.end(), end)]
    return found


def whole_phrases(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """The results, plus each pay statement's phrase around them and the sentence's other figures."""
    spans = sorted(results, key=lambda r: r.start)
    extra = []
    for index, result in enumerate(spans):
        lead = _LEAD.search(text, max(0, result.start - LEAD_REACH), result.start)
        start = lead.start() if lead else result.start
        signed = _SIGNED_BEFORE.search(text, max(0, start - 12), start)
        start = signed.start() if signed else start
        if start < result.start:
            extra.append(RecognizerResult(result.entity_type, start, result.end, result.score))
        tail = _TAIL.match(text, result.end)
        if tail:
            extra.append(RecognizerResult(result.entity_type, result.start, tail.end(), result.score))
        following = spans[index + 1] if index + 1 < len(spans) else None
        if following and 0 < following.start - result.end <= CHAIN_GAP:
            gap = _CHAIN.fullmatch(text, result.end, following.start)
            if gap and not regex.search(r"\d", gap.group()):
                extra.append(RecognizerResult(result.entity_type, result.start, following.end, result.score))
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
