"""Business secrets said in a sentence, with no marking: unpublished results, deals, restructurings, net prices.

A marking (« CONFIDENTIEL ») tells that a document must stay inside; many requests carry the secret itself with no
marking: « the DMC recommends stopping enrolment », « acquisition de Nordvik Biologics, valorisation 420 M€ »,
« fermeture du site de Compiègne avec 140 suppressions de postes », « our floor price is €312 per vial ». Each such
sentence is reported as CONFIDENTIEL, like a marking, so the request stays on the company's models.

A sentence is reported when it says that what it holds is not public yet, or when it joins a deal to its money, a
restructuring to its jobs, a price to what it is negotiated for, or when it calls one of its figures confidential in
passing. What the company has published is public: a sentence, or a text, that speaks of a press release, of
publication or of an announcement made is left alone, unless it also says « not yet ».
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.recognizers import LANGUAGE

SCORE = 0.85  # a handling instruction's score: below a label's (0.9)

# What says that a piece of news is not out yet (it also overrides « published » in the same sentence) ...
_NOT_YET_PUBLIC = (
    r"non\s+publiée?s?|pas\s+encore\s+(?:publiée?s?|annoncée?s?|communiquée?s?|notifiée?s?|rendue?s?\s+publi(?:c|que)s?)|"
    r"avant\s+(?:toute\s+)?(?:communication|annonce)\s+(?:publique|officielle|externe)|unpublished|"
    r"non\s+(?:annoncée?s?|divulguée?s?)|not\s+(?:publicly\s+)?announced|"
    r"(?:has|have)\s+not\s+(?:yet\s+)?been\s+(?:notified|announced|disclosed|published|made\s+public)|"
    r"silent\s+recall|rappel\s+silencieux|quiet\s+(?:market\s+)?(?:withdrawal|recall)|retrait\s+silencieux|"
    r"(?:ne\s+(?:sont|est)\s+pas|n['’](?:ont|a)\s+pas\s+été)\s+(?:encore\s+)?(?:publiée?s?|annoncée?s?|divulguée?s?)|"
    # kept from the regulator (« without notifying ANSM », « sans en informer l'ANSM »)
    r"(?:without\s+notifying|sans\s+(?:en\s+)?(?:informer|notifier|prévenir))\s+(?:l['’]|la\s+|le\s+|les\s+|the\s+)?"
    r"(?:ANSM|EMA|FDA|MHRA|autorités?|authorit(?:y|ies)|regulators?)|"
    # kept quiet until it is announced (« motus jusqu'à l'annonce », « nobody on site knows yet »)
    r"motus|under\s+wraps|off\s+the\s+record|(?:jusqu['’]à|until)\s+(?:l['’]annonce|the\s+announcement)|(?:nobody|no\s+one)\s+(?:[\w-]+\s+){0,3}?knows\s+yet|"
    r"not\s+yet\s+(?:public|published|disclosed|announced|notified)|before\s+any\s+(?:public|external)\s+"
    r"(?:communication|announcement|disclosure)"
)
# ... or comes from a trial's unblinded review.
_NOT_PUBLIC = (
    rf"{_NOT_YET_PUBLIC}|top-?line\s+(?:results?|data)|interim\s+analysis|analyse\s+intermédiaire|futility|futilité|"
    r"(?:DSMB|IDMC|DMC)\s+(?:recommends?|recommande|a\s+recommandé|has\s+recommended)"
)
# A deal and what it is worth (« acquisition … valorisation 420 M€ », « in-licensing … upfront payment of $75M »).
# A purchase, a takeover or a sale names its target (« rachat de Solvane Bio », « cession de la gamme OTC »): the
# « acquisition de données » of a lab system or the « coût d'acquisition » of a machine is no deal.
_DEAL = (r"(?:acquisitions?|rachat|cession|takeover|prise\s+de\s+contrôle)"
         r"(?:\s+(?:envisagée?|proposée?|prévue?|potentielle?|projetée?))?\s+(?:de|du|des|d['’]|of)\s*"
         r"(?:\d{1,3}\s?%\s+(?:de|du|des|d['’]|of)\s*)?"
         r"(?:la\s+|le\s+|l['’]|une?\s+|the\s+|an?\s+)?(?:(?:société|company|biotech|start-?up|entreprise|gamme|activité|division|"
         r"business|site|usine)\s+(?:de\s+|d['’])?)?(?-i:\p{Lu})|"
         r"in-licensing|out-licensing|licensing\s+deal|merger|takeover|targets?\s+(?:list|shortlist)|"
         # a licence with a named partner (a contract's model clause names none)
         r"cibles?\s+d['’]acquisition|(?:accords?\s+de\s+licence\s+avec|licen[cs]e\s+agreement\s+with)\s+(?-i:\p{Lu})|"
         # a bidder's first move (« une marque d'intérêt non engageante », « a non-binding offer »)
         r"marques?\s+d['’]intérêt|offres?\s+non\s+engageantes?|non-?binding\s+(?:offer|bid|proposal)|"
         r"(?:expression|indication)\s+of\s+interest|"
         # talks held with one buyer alone (« in exclusivity with Norvance Bio », « négociations exclusives »); a
         # contract's exclusivity clause is no deal
         r"(?:in|under)\s+exclusivity\s+with|exclusive\s+(?:talks|negotiations?)|négociations?\s+exclusives?|"
         r"en\s+exclusivité\s+avec\s+(?-i:\p{Lu})|"
         # money raised privately, before any announcement (« augmentation de capital … par placement privé »)
         r"placements?\s+privés?|private\s+placements?")
_DEAL_MONEY = (r"valorisation|valuation|enterprise\s+value|valeur\s+d['’]entreprise|asking\s+price|bid\s+ceiling|"
               r"earn-?out|upfront|milestones?|term\s+sheet|due\s+diligence|lettre\s+d['’]intention|"
               r"letter\s+of\s+intent|offre\s+(?:indicative|ferme)|binding\s+offer")
# A restructuring (« plan social », « 140 suppressions de postes », « site closure »).
# « la suppression de 137 postes » too, and « l'arrêt de l'atelier » as its closure.
_RESTRUCTURING = (r"plan\s+social|PSE|plan\s+de\s+sauvegarde\s+de\s+l['’]emploi|suppressions?\s+de\s+(?:\d+\s+)?postes|"
                  r"(?:fermeture|arrêt)\s+(?:du|de\s+la|de\s+l['’]|d['’]une?)\s*(?:site|usine|établissement|atelier|ligne|unité|"
                  r"entrepôt|plateforme)|(?:site|plant|line|facility)\s+closure|closure\s+of\s+(?:the|our)\s+"
                  r"(?:[\w-]+\s+){0,3}?(?:site|plant|facility|line|factory|unit)|job\s+cuts|"
                  r"layoffs|licenciements?\s+économiques|redundanc(?:y|ies)\s+programme|"
                  # « the headcount reduction at the Lyon site (approx. 85 roles) », « pulling the plug on the … line »
                  r"headcount\s+reductions?|réductions?\s+d['’]effectifs?|pulling\s+the\s+plug\s+on")
# A price as negotiated, not as listed (« our floor price … €312 per vial », « prix de cession … 24,90 € HT »); a
# supplier's quote (« 1 840 € l'unité, remise de 7 % »), a budget's unit price or a « prix net » is the buyer's
# business, no secret.
# A face price (« prix facial proposé … 1 240 € la boîte ») is the one put to the pricing committee (CEPS).
_NET_PRICE = (r"prix\s+facial|net\s+price\s+after\s+(?:the\s+)?rebates?|prix\s+net\s+après\s+remises?|"
              r"prix\s+(?:négocié|remisé|de\s+cession|plancher|cible)|(?:floor|target\s+net)\s+price|"
              r"remise\s+(?:confidentielle|conventionnelle)|confidential\s+rebate|"
              # a buyer's validated ceiling (« plafond validé à 1 850 €/kg »)
              r"(?:plafond|prix\s+maximum)\s+(?:validé|autorisé|interne)|(?:approved|internal)\s+(?:price\s+)?ceiling")
# A figure its writer calls confidential in passing (« plafond validé à 1 850 €/kg, confidentiel ; », « 1 240 € par
# boîte (confidentiel, avant négociation CEPS) »): the word set apart by punctuation, as an aside, not a heading.
_ASIDE = (r"(?<=[(,;–—][^\S\n]*)(?:strictement[^\S\n]+|très[^\S\n]+|strictly[^\S\n]+|highly[^\S\n]+)?"
          r"(?:confidentiel(?:le)?s?|confidential)(?=[^\S\n]*[,;)–—])"
          # or kept out of what is written (« Contexte interne (à ne pas mentionner dans le mail) : … 18,40 € HT »)
          r"|\bà\s+ne\s+pas\s+(?:mentionner|divulguer|révéler|dévoiler)|\bnot\s+to\s+be\s+(?:mentioned|disclosed|shared)|"
          r"\bdo\s+not\s+(?:mention|reveal)")
_CUE = regex.compile(
    rf"(?i:\b(?:{_NOT_PUBLIC})\b)"
    rf"|(?P<deal>(?i:\b(?:{_DEAL})))|(?P<restructuring>(?:\b(?i:{_RESTRUCTURING})\b))"
    rf"|(?P<price>(?i:\b(?:{_NET_PRICE})\b))|(?P<aside>(?i:{_ASIDE}))"
)
_DEAL_MONEY_WORDS = regex.compile(rf"(?i:\b(?:{_DEAL_MONEY})\b)")
_MONEY = regex.compile(r"(?:\d[\d ,.]*\s?(?:M€|Md€|k€|€|M\$|\$|EUR|USD|CHF|GBP|m\b|bn\b|M\b))|(?:€|\$|£)\s?\d")
_FIGURE = regex.compile(r"\d(?:[\d ,.]*\d)?[^\S\n]?(?:%|t\b|kg\b|M€|k€|€|\$|EUR|USD)|(?:€|\$|£)[^\S\n]?\d")
_JOBS = regex.compile(r"\d+\s+(?:postes|emplois|jobs|positions|salariés|employees|redundancies|roles|FTEs?|ETP)|"
                     r"(?i:\bCSE\b|works\s+council)")
# What the company has made public already (« It was published … », « Summarise this press release »).
_PUBLISHED = regex.compile(r"(?i:\bpress\s+release|communiqué\s+de\s+presse|\bpublished\b|\bpubliée?s?\b|"
                           r"\bannounced\b|\ba\s+annoncé|\bpublicly\b|journal\s+officiel|\bJORF\b|clinicaltrials\.gov|"
                           r"public\s+registry|registre\s+public)")
_NOT_YET = regex.compile(rf"(?i:\b(?:{_NOT_YET_PUBLIC})\b)")
# ... but not publication still to come (« ne doivent pas apparaître … avant la publication au Journal officiel »)
_BEFORE_PUBLICATION = regex.compile(r"(?i:\b(?:avant|before|until|jusqu['’]à|pending|prior\s+to)\s+"
                                    r"(?:la\s+|the\s+|sa\s+|its\s+|leur\s+|their\s+)?(?:publication|annonce|announcement)(?:\s+(?:au|in|du))?\s*$)")
# A full stop glued to what follows, or after an abbreviation (« approx. 85 roles », « M. Castéran »), ends no sentence.
_SENTENCE = regex.compile(r"[^.!?\n]+(?:(?:[.!?](?=\S)|(?<=\b(?:approx|env|vs|cf|ca|Dr|Mr|Mrs|Ms|M|Mme|Pr|St))\.)"
                          r"[^.!?\n]*)*")
OPENING = 400  # where a text says what it is (« Summarise this press release … »)


class ConfidentialContentRecognizer(EntityRecognizer):
    """CONFIDENTIEL: a sentence that carries an unpublished result, a deal, a restructuring or a negotiated price."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["CONFIDENTIEL"], supported_language=LANGUAGE,
                         name="ConfidentialContentRecognizer")

    def load(self) -> None:
        """Nothing to load."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Each sentence that tells a business secret, unless the text says it is published."""
        if not _CUE.search(text):
            return []
        text_is_published = _says_published(text[:OPENING])
        results = []
        for sentence in _SENTENCE.finditer(text):
            if _tells_a_secret(sentence.group(), text_is_published):
                start = sentence.start() + len(sentence.group()) - len(sentence.group().lstrip())
                results.append(RecognizerResult("CONFIDENTIEL", start, sentence.end(), SCORE))
        return results


def _tells_a_secret(sentence: str, text_is_published: bool) -> bool:
    """Whether a sentence says a thing is not public yet, or gives a deal's money, cut jobs or a negotiated price."""
    cues = list(_CUE.finditer(sentence))
    if not cues:
        return False
    if (text_is_published or _says_published(sentence)) and not _NOT_YET.search(sentence):
        return False
    for cue in cues:
        if not (cue.group("deal") or cue.group("restructuring") or cue.group("price") or cue.group("aside")):
            return True  # not public yet
        if cue.group("deal") and (_DEAL_MONEY_WORDS.search(sentence) or _MONEY.search(sentence)):
            return True
        if cue.group("restructuring") and _JOBS.search(sentence):
            return True
        if cue.group("price") and _MONEY.search(sentence):
            return True
        if cue.group("aside") and _FIGURE.search(sentence):
            return True
    return False


def _says_published(text: str) -> bool:
    """Whether the text says that something was made public (not that it will be)."""
    return any(not _BEFORE_PUBLICATION.search(text, max(0, match.start() - 40), match.start())
               for match in _PUBLISHED.finditer(text))
