"""Postal addresses: "14 rue des Lilas", "3 bis avenue Jean Jaurès", "69003 Lyon", "221B Baker Street".

A street is a number, a type of way (the full list of the French address standard) and a name made
of capitalised words and particles ("de la Liberté", "du 8 Mai 1945"), so "4 cours de validation"
is no street. Without a number, a way counts when announced or next to a town ("vit rue des Lilas",
"lieu-dit La Croix Blanche, 24200 Sarlat"); "Rue de la Loi 16" (Belgium), "Hauptstraße 12"
(Germany, Switzerland, Austria, the Netherlands), "42 Elm St., Springfield, IL 62704" (US) and UK
postcodes are read too. Next to a street: a town after "à" or a comma, a foreign postcode, a
building, staircase or flat, a post box (BP, CS, TSA) and CEDEX.
A French postal code is five digits and a town. A postal code alone is common in a pharma text
("10000 UFC", a batch), so it is reported only next to a street or after a word that announces an
address (adresse, habite, domicile, livrer...).
The published address of a public body named just before it (`organismes_publics.txt`: ANSM,
EMA, EDQM, HAS...) is public and a letter to a regulator needs it: it is left in clear. Every
other address is reported; a company site is left in clear only when announced as one (« site de
production », « usine », « headquarters »): otherwise the guard cannot tell a site from a home.
A business's address says so in its form (round 10): a CS box (« Correspondance spéciale », given to
organisations only), an industrial or business zone or park (« ZI », « Parc technologique »); and in what
comes before it: an office's switchboard or fax line (a service's signature). A supplier named before an
address is not enough: a supplier may be a sole trader, working from home; a name ending in a company's legal form
right before it (« Pharmacorp Ireland Ltd, … ») is (round 17).
The rows of a table of sites (a column headed « site », « usine », « établissement ») are sites too.
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.engine import BUSINESS_ADDRESS
from relais.guard.lexicon import countries
from relais.guard.recognizers import LANGUAGE, read_word_list
from relais.guard.tables import tables

STREET_SCORE = 0.85
TOWN_SCORE = 0.75
PUBLIC_BODY_WINDOW = 40  # characters before an address where a public body's name makes it public
# ... unless someone else's address follows (« Envoie aussi le colis à Julien Marchal, 12 rue … », « my home »).
_SOMEONE_ELSE = regex.compile(r"(?i:\b(?:aussi|also|chez\s+moi|mon|ma|my|home|domicile|habite|live)\b)")
ASKED_ADDRESS_WINDOW = 200  # characters before an address where a request for a public body's address counts
_ASKED_ADDRESS = regex.compile(r"(?i:\b(?:postal\s+|mailing\s+)?address(?:es)?\s+(?:of|for)\b|"
                               r"['’]s\s+(?:postal\s+|mailing\s+)?address\b|\badresse\s+(?:postale\s+)?"
                               r"(?:de|du|des|d['’])|\bcoordonnées\s+(?:publiques\s+)?(?:de|du|des|d['’]))")
ANNOUNCE_WINDOW = 60
# What only a business's address holds: a CEDEX or a CS box, an industrial or business zone or park.
_BUSINESS_ADDRESS = regex.compile(
    r"(?<![\w])(?:CS[ \u00a0]?\d{3,6}|ZI|ZA|ZAC|ZAE|(?i:zone[ \u00a0]+(?:industrielle|artisanale|"
    r"d['’][ \u00a0]?activités?|commerciale)|parc[ \u00a0]+(?:d['’][ \u00a0]?activités?|technologique|scientifique|"
    r"industriel|tertiaire)|technop[ôo]le|business[ \u00a0]+park|industrial[ \u00a0]+(?:estate|park|zone)|"
    r"science[ \u00a0]+park))(?![\w])"
)
# Before an address: an office's switchboard or fax line (a service's signature).
_BUSINESS_BEFORE = regex.compile(
    r"(?i:\b(?:fax|télécopie|switchboard)\b|\b(?:standard|siège|head\s+office)[ \u00a0]*:)"
)
# A street named to be an example (« 1 rue de l'Exemple, 75000 Paris » in a letter's template): nobody's home.
_SAMPLE_STREET = regex.compile(r"(?i:\b(?:exemple|example|sample)\b)")
# Right before an address: a company's name ending in its legal form (« Pharmacorp Ireland Ltd, Unit 4, … »). A
# supplier's bare name is not enough (a sole trader works from home); a registered company's address is public.
_COMPANY_FORM_BEFORE = regex.compile(r"\b(?:Ltd|Limited|LLC|Inc|plc|PLC|GmbH|AG|BV|NV|SAS|SASU|SARL|SA|S\.A\.|"
                                     r"S\.A\.S\.|S\.p\.A\.|SpA)\.?[^\S\n]*[,\n][^\S\n]*$")
COMPANY_FORM_WINDOW = 20
# A table of a company's sites: a column headed « site », « usine », « établissement », « plant »…
_SITE_HEADER = regex.compile(r"(?i:sites?|usines?|établissements?|etablissements?|entrepôts?|plants?|facilit(?:y|ies)|"
                             r"warehouses?|filiales?|agences?|locations?|implantations?)")
NEAR = 40  # characters between the parts of one address (street, building, post box, town)

# Types of way of the French address standard (AFNOR NF Z10-011 and the FANTOIR / BAN type list),
# with their usual abbreviations.
_WAY = (
    r"rue|r\.|avenue|av\.?|ave|bd|bld|boulevard|place|pl\.|chemin|ch\.|che|allée|allee|all\.|impasse|imp\.?|"
    r"route|rte|quai|cours|square|sq\.|passage|voie|sentier|sente|venelle|ruelle|cité|cite|résidence|residence|"
    r"lotissement|lot\.|hameau|parvis|esplanade|promenade|faubourg|fbg|rond-point|carrefour|traverse|montée|"
    r"villa|domaine|lieu-dit|lieudit|clos|chaussée|corniche|côte|cote|galerie|mail|levée|digue|rampe|terrasse|"
    r"quartier|grande\s+rue|grand[' ]rue|zone\s+industrielle|zone\s+artisanale|zone\s+d['’]activités?|zi|za|zac"
)
# Ways that name a place without a house number ("lieu-dit La Croix Blanche", "Résidence Les Pins").
_PLACE_WAY = r"lieu-dit|lieudit|hameau|résidence|residence|domaine|lotissement|cité|villa|clos|quartier"
_NUMBER = r"\d{1,4}(?:\s?-\s?\d{1,4})?(?:\s?(?:bis|ter|quater|[A-Da-d])\b)?"
_PARTICLES = r"(?:(?:de|du|des|la|le|les|aux?|en|sur|sous|lès|et|of|the|saint|sainte)[^\S\n]+|[dl]['’])*"
_CAP_WORD = r"(?:\p{Lu}[\p{L}'’\-]*\.?|\d{1,4}(?:er)?(?![\d]))"
# A way's name: capitalised words and numbers joined by particles ("de la Liberté", "du 8 Mai 1945",
# "du Général de Gaulle"); typed in lower case, it counts only right before a postal code.
_STRICT_NAME = rf"[^\S\n]+{_PARTICLES}{_CAP_WORD}(?:[^\S\n]+{_PARTICLES}{_CAP_WORD}|-{_CAP_WORD}){{0,5}}"
_LOWER_NAME = r"(?:[^\S\n]+[\p{Ll}'’\-]+){1,5}(?=,?[^\S\n]*(?:\d{5}|\d{4}[^\S\n]+\p{Lu})\b)"
_WAY_NAME = rf"(?:{_STRICT_NAME}|{_LOWER_NAME})"
_FRENCH_STREET = rf"(?<![\w,.])(?:{_NUMBER}),?[^\S\n]+(?i:{_WAY})(?![\w]){_WAY_NAME}"
# Without a number: a named place, or a way followed by its number (Belgium: "Rue de la Loi 16").
_PLACE = rf"(?<![\w])(?i:{_PLACE_WAY})(?![\w]){_STRICT_NAME}"
_WAY_THEN_NUMBER = rf"(?<![\w])(?i:{_WAY})(?![\w]){_STRICT_NAME}[^\S\n]+\d{{1,4}}[a-z]?(?![\w])"
_BARE_WAY = rf"(?<![\w])(?i:{_WAY})(?![\w]){_STRICT_NAME}"
# German, Swiss, Austrian, Dutch: a compound street name, then its number ("Hauptstraße 12").
# Flemish « -steenweg », « -baan » (« Brugsesteenweg 256 ») and Nordic « -gatan », « -vägen », « -gade », « -vej »,
# « -veien » (« Storgatan 14B », « Nørregade 7 ») are written the same way.
_GERMANIC_SUFFIXES = (r"straße|strasse|str\.|gasse|weg|platz|allee|ring|damm|ufer|chaussee|straat|laan|plein|gracht|"
                      r"kade|steeg|dreef|steenweg|baan|gatan|gata|vägen|väg|gade|vej|veien|vegen")
_GERMANIC_STREET = (rf"(?<![\w])\p{{Lu}}[\p{{L}}\-]*(?i:{_GERMANIC_SUFFIXES})[^\S\n]+\d{{1,4}}[a-zA-Z]?(?:-\d{{1,3}})?"
                    r"(?![\w])")
_ENGLISH_STREET = (r"(?<![\w,.])\d{1,5}[A-Z]?[^\S\n]+(?:[A-Z][a-z]+[^\S\n]+){1,3}"
                   r"(?:(?:Street|Road|Avenue|Lane|Drive|Way|Boulevard|Place|Square|Court|Terrace|Close|Crescent|"
                   r"Parkway|Highway|Row|Mews|Gardens|Grove|Walk)\b|(?:St|Rd|Ave|Blvd|Dr|Ln|Ct|Pl|Hwy)\b\.?)"
                   r"(?:[^\S\n]+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
                   r"(?:,?[^\S\n]+(?:Apt|Apartment|Suite|Ste|Unit|Flat)\.?[^\S\n]*#?[A-Z0-9]{1,5}\b)?")
# Building, staircase, flat, post box: parts of an address next to a street or a town.
_COMPLEMENT = (r"(?<![\w])(?:(?i:bâtiment|batiment|bât\.?|bat\.|immeuble|appartement|appt?\.?|apt\.?|escalier|esc\.|"
               r"étage|porte|flat|unit|suite|apartment|bus)[^\S\n]+[A-Z0-9]{1,4}(?![\w])|(?:BP|B\.P\.|CS|TSA)[^\S\n]*\d{1,6}(?![\w])"
               # a floor and a side in Portugal and Spain (« 3.º Esq. », « 2º Dto », « 4.ª planta »)
               r"|(?<![\w])\d{1,2}\.?[ºª°](?:[^\S\n]*(?i:esq|esquerdo|dto|dta|direito|dir|fte|frente|izq|izda|dcha|"
               r"planta|andar|piso)\.?)?(?![\w])"
               rf"|(?i:{_PLACE_WAY})(?![\w]){_STRICT_NAME})")
_TOWN = (r"(?!(?i:cedex)\b)\p{Lu}[\w'’\-]*"
         r"(?:[^\S\n]?-[^\S\n]?[\w'’\-]+|[^\S\n]+(?:sur|sous|lès|les|le|la|de|du|en|aux?|im|am|an\s+der|upon|on|"
         r"(?!(?i:cedex)\b)\p{Lu}[\w'’\-]*))*")
_CEDEX = r"(?:[^\S\n]+(?i:cedex)(?:[^\S\n]+\d{1,2}(?![\w]))?)?"
_POSTCODE_TOWN = rf"(?<![\w,.])(?:0[1-9]|[1-8]\d|9[0-8])\d{{3}}[^\S\n]+{_TOWN}{_CEDEX}"
_UK_TOWN_POSTCODE = r"\b[A-Z][a-z]+,?[^\S\n]+[A-Z]{1,2}\d[A-Z\d]?[^\S\n]?\d[A-Z]{2}\b"
_US_STATES = ("AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|"
              "NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY")
_US_TOWN_ZIP = rf"\b[A-Z][a-z]+(?:[^\S\n]+[A-Z][a-z]+)*,[^\S\n]*(?:{_US_STATES})[^\S\n]+\d{{5}}(?:-\d{{4}})?(?![\w])"
# After a street only: a foreign postal code (4 or 5 digits, "CH-8001"), a town after "à" or a comma.
# « 4050-262 Porto » (Portugal), « 1015 KD Amsterdam » (the Netherlands), « CH-8001 Zürich »
# « 114 55 Stockholm » (Sweden, Czechia, Greece), « 80-827 Gdańsk » (Poland)
_FOREIGN_POSTCODE_TOWN = (rf"(?<![\w,.])(?:(?:[A-Z]{{1,2}}-)?\d{{4,5}}(?:-\d{{3}}|[^\S\n]?[A-Z]{{2}}(?![\w]))?"
                          rf"|\d{{3}}[^\S\n]\d{{2}}|\d{{2}}-\d{{3}})[^\S\n]+{_TOWN}")
# « 8 impasse des lilas 60280 margny-lès-compiègne »: right after a street, a postcode and a town typed in lower case.
_LOWER_POSTCODE_TOWN_AFTER_STREET = regex.compile(
    r",?[^\S\n]*(?:0[1-9]|[1-8]\d|9[0-8])\d{3}[^\S\n]+\p{Ll}[\p{Ll}'’\-]*"
    r"(?:[^\S\n]+(?:sur|sous|lès|les|le|la|en|de)[^\S\n]+\p{Ll}[\p{Ll}'’\-]*)?(?![\w])"
)
_TOWN_AFTER_STREET = regex.compile(
    rf"(?:,?[^\S\n]+(?:à|a|in)[^\S\n]+|,[^\S\n]*)(?P<town>{_TOWN})(?=[^\S\n]*(?:[.,;:!?)\n]|$))"
)
# Any country's street: a number, capitalised words, a comma, then a postcode and a town
# (« 22 Kneza Miloša, 11000 Belgrade », « 5 Via Roma, 20121 Milano »): the town's code makes it an address.
_NUMBER_NAME_POSTCODE = (rf"(?<![\w,.])\d{{1,4}}[a-zA-Z]?[^\S\n]+\p{{Lu}}[\p{{L}}'’.\-]*"
                         rf"(?:[^\S\n]+[\p{{L}}'’.\-]+){{0,3}},[^\S\n]*(?:[A-Z]{{1,2}}-)?\d{{4,6}}[^\S\n]+{_TOWN}")
# Portuguese, Spanish, Italian, Catalan: a way, its name, then the number (« Rua das Flores 112 », « Via Roma 5 »).
_ROMANCE_PARTICLE = r"(?:(?:da|das|do|dos|de|del|della|delle|dei|di|la|las|los|el|dels)[^\S\n]+)*"
# Polish « ul. Długa 17/4 » (ulica, aleja) is written the same way, a flat after a slash.
_ROMANCE_STREET = (rf"(?<![\w])(?:Rua|Avenida|Calle|Carrer|Via|Viale|Piazza|Largo|Travessa|Praça|Paseo|Plaza|Camino|"
                   rf"Rambla|Estrada|Alameda|ul\.|[Uu]lica|[Aa]leja)[^\S\n]+{_ROMANCE_PARTICLE}\p{{Lu}}[\p{{L}}'’\-]*"
                   rf"(?:[^\S\n]+{_ROMANCE_PARTICLE}\p{{Lu}}[\p{{L}}'’\-]*){{0,3}},?[^\S\n]+\d{{1,4}}[a-zA-Z]?"
                   r"(?:/\d{1,4})?(?![\w])")
_STREETS = regex.compile(f"{_FRENCH_STREET}|{_ENGLISH_STREET}|{_NUMBER_NAME_POSTCODE}|{_ROMANCE_STREET}")
_GERMANIC_STREETS = regex.compile(_GERMANIC_STREET)
# The Germanic pattern tries every capitalised word: it runs only when a street suffix is in the text.
_GERMANIC_SUFFIX = regex.compile(rf"(?i:{_GERMANIC_SUFFIXES})[^\S\n]+\d")
_WEAK_STREETS = regex.compile(f"{_PLACE}|{_WAY_THEN_NUMBER}|{_BARE_WAY}")
_COMPLEMENTS = regex.compile(_COMPLEMENT)
# « Montréal (QC) H3H 1G6 »: a town, its province, a Canadian postal code.
_CANADIAN_TOWN_POSTCODE = r"\b\p{Lu}[\p{L}'’\-]*(?:[^\S\n]+\(?[A-Z]{2}\)?)?,?[^\S\n]+[A-Z]\d[A-Z][^\S\n]?\d[A-Z]\d\b"
_TOWNS = regex.compile(f"{_POSTCODE_TOWN}|{_UK_TOWN_POSTCODE}|{_US_TOWN_ZIP}|{_CANADIAN_TOWN_POSTCODE}")
_FOREIGN_TOWNS = regex.compile(_FOREIGN_POSTCODE_TOWN)
PART_GAP = 8  # « , Le » between a street and a named place
_GAP = regex.compile(r"[^\S\n]*[,;–—-]?[^\S\n]*\n?[^\S\n]*(?:(?:Le|La|Les|L['’])[^\S\n]*)?")
_COUNTRY_AFTER = regex.compile(r",?[^\S\n]+(?P<country>\p{Lu}[\p{L}'’\-]*"
                               r"(?:[^\S\n]+(?:of[^\S\n]+)?\p{Lu}[\p{L}'’\-]*){0,2})")
TAIL_PARTS = 4
# The next part of an address after a comma or a line break; a part holds a town, a district or a postcode.
_NEXT_PART = regex.compile(r"[^\S\n]*[,\n][^\S\n]*(?P<part>[^\n,;:?!«»\"]{1,40}?)\.?(?=[^\S\n]*(?:[,\n.;:?!)]|$))")
_ADDRESS_PART = regex.compile(r"(?:[\p{L}\d][\p{L}\d'’ºª°.\-]*)(?:[^\S\n]+[\p{L}\d][\p{L}\d'’ºª°.\-]*){0,4}")
_ANNOUNCES = regex.compile(
    r"(?i:adresse|domicile|domicilié|habite|habitons|vit\b|vivons|loge|demeur|réside|résidant|déménag|emménag|livr|expédi|"
    r"resid|domiciled|c/o\b|"
    r"envoy|envoi|courrier|colis|chez\b|address|lives|living|moved\s+to|ship|deliver|mail\s+to|send\s+to|"
    r"wohn|anschrift)"
)


class AddressRecognizer(EntityRecognizer):
    """ADRESSE: streets, and postal codes with their town next to a street or an announcing word."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["ADRESSE", BUSINESS_ADDRESS], supported_language=LANGUAGE,
                         name="AddressRecognizer")
        bodies = sorted(read_word_list("organismes_publics.txt"), key=len, reverse=True)
        # Acronyms as written (« HAS », not « has »); names in any case (« Haute Autorité de santé »).
        self._public_body = regex.compile(r"\b(?:" + "|".join(
            regex.escape(body) if " " not in body else f"(?i:{regex.escape(body)})" for body in bodies) + r")\b")

    def load(self) -> None:
        """Nothing to load: the list of public bodies is read in the constructor."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Streets, places, buildings, post boxes and towns of the text, except a public body's address."""
        streets = [match.span() for match in _STREETS.finditer(text)]
        if _GERMANIC_SUFFIX.search(text):
            streets += [match.span() for match in _GERMANIC_STREETS.finditer(text)]
        # A way without a number ("rue des Lilas") is an address when announced or next to a town.
        towns = [match.span() for match in _TOWNS.finditer(text)]
        announcing = _ANNOUNCES.search(text) is not None
        if not (streets or towns or announcing):
            return []  # most texts: nothing the weaker rules could attach to
        for match in _WEAK_STREETS.finditer(text):
            if self._announced(text, match.start()) or _near(match.span(), towns) or _near(match.span(), streets):
                streets.append(match.span())
        parts = [*streets]
        for span in towns:
            if _near(span, streets) or self._announced(text, span[0]):
                parts.append(span)
        if streets:
            parts += [match.span() for match in _FOREIGN_TOWNS.finditer(text) if _near(match.span(), streets)]
        for _, street_end in streets:
            town = (_TOWN_AFTER_STREET.match(text, street_end)
                    or _LOWER_POSTCODE_TOWN_AFTER_STREET.match(text, street_end))
            if town:
                parts.append((street_end, town.end()))  # "à" included: nothing of the address is left
        if parts or announcing:
            parts += [match.span() for match in _COMPLEMENTS.finditer(text)
                      if _near(match.span(), parts) or self._announced(text, match.start())]
        kept = [(start, end) for start, end in sorted(set(parts)) if not self._is_public(text, start, streets)]
        return [RecognizerResult(BUSINESS_ADDRESS if _is_business(text, start, end) else "ADRESSE", start, end,
                                 STREET_SCORE if any(s >= start and e <= end for s, e in streets) else TOWN_SCORE)
                for start, end in _joined(text, kept) if not _SAMPLE_STREET.search(text, start, end)]

    @staticmethod
    def _announced(text: str, start: int) -> bool:
        return _ANNOUNCES.search(text, max(0, start - ANNOUNCE_WINDOW), start) is not None

    def _is_public(self, text: str, start: int, streets: list[tuple[int, int]]) -> bool:
        """Whether a public body is named just before the address (its street, if it has one)."""
        address_start = min([s for s, e in streets if s <= start <= e + 30] or [start])
        if self._public_body.search(text, max(0, address_start - PUBLIC_BODY_WINDOW), address_start):
            return True
        # « What is the postal address of the FDA's Center …? I have 10903 New Hampshire Avenue … »: a request for a
        # public body's address, and the address it gives to check, in the same paragraph.
        paragraph = max(text.rfind("\n\n", 0, address_start) + 2, address_start - ASKED_ADDRESS_WINDOW, 0)
        asked = _ASKED_ADDRESS.search(text, paragraph, address_start)
        return bool(asked and self._public_body.search(text, paragraph, address_start)
                    and not _SOMEONE_ELSE.search(text, asked.end(), address_start))


def _is_business(text: str, start: int, end: int) -> bool:
    """Whether an address is a business's: by its form, by what comes before it, or as a row of a table of sites."""
    if _BUSINESS_ADDRESS.search(text, start, end) or _BUSINESS_BEFORE.search(text, max(0, start - PUBLIC_BODY_WINDOW),
                                                                              start):
        return True
    if _COMPANY_FORM_BEFORE.search(text[max(0, start - COMPANY_FORM_WINDOW):start]):
        return True
    for table in tables(text):
        sites = any(_SITE_HEADER.fullmatch(title.strip(" *_")) for title in table.header)
        if sites and table.rows[1:] and table.rows[1][0][0] <= start <= table.rows[-1][-1][1]:
            return True
    return False


def _near(span: tuple[int, int], others: list[tuple[int, int]]) -> bool:
    """Whether `span` lies within a few characters of one of `others` (before or after it), or overlaps it."""
    start, end = span
    return any(-NEAR <= start - other_end <= NEAR or -NEAR <= other_start - end <= NEAR
               for other_start, other_end in others if (other_start, other_end) != span)


def _joined(text: str, parts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of one address as one span, with the country that ends it.

    « Résidence Les Glycines, bât. B, apt 12⏎3 allée des Peupliers⏎31200 Toulouse » is one address: the
    commas and line breaks between its parts are inside it, and so is « , Switzerland » after it.
    """
    joined: list[tuple[int, int]] = []
    for start, end in parts:
        if joined and start <= joined[-1][1] + PART_GAP and _GAP.fullmatch(text, joined[-1][1], start):
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    return [(start, _country_end(text, end)) for start, end in joined]


def _country_end(text: str, end: int) -> int:
    """Where the address ends: at the country that closes it, a few parts later at most.

    « Lindenstraße 27, 79098 Freiburg⏎ im Breisgau, Germany », « 12 Admiralty Way, Lekki Phase 1⏎Lagos
    106104⏎Nigeria »: the district, town or postcode between the street and the country are the address too.
    """
    country = _COUNTRY_AFTER.match(text, end)
    if country and country.group("country") in countries():
        return country.end()
    position = end
    for _ in range(TAIL_PARTS):
        part = _NEXT_PART.match(text, position)
        if part is None or not _ADDRESS_PART.fullmatch(part.group("part").strip()):
            return end
        if part.group("part").strip() in countries():
            return part.end()
        position = part.end()
    return end
