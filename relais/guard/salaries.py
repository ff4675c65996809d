"""Salaries and compensation: an amount of money said in the context of someone's pay.

Amounts are everywhere in a company's requests (budgets, prices, penalties, turnover), so an
amount is reported only when a pay word (salaire, rémunération, prime, brut, net, indemnité,
variable, salary, bonus, compensation...) appears in the same sentence or table: before it, or
just after it ("3 150 euros net par mois"). A table whose header says "Brut mensuel" makes every
amount of its rows a salary.
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.engine import PAY_IF_NAMED
from relais.guard.pay_phrases import K_RANGE, MONTHS_OF_PAY, WORD_AMOUNT, share_grants, with_pay_figures
from relais.guard.recognizers import LANGUAGE
from relais.guard.tables import tables

SCORE = 0.8
AFTER_WINDOW = 80  # « … à CHF 9'850 par mois ; compare avec mon salaire » : the pay word may come later
_SENTENCE_END_AFTER = regex.compile(r"[.!?](?:\s|$)|\n")  # compiled once (see first_names._NAME_WORD)

_NUMBER = r"\d{1,3}(?:[ \u00a0\u202f.,'’]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"  # 9'850: Swiss thousands
_CODES = r"EUR|USD|GBP|CHF|CAD|AUD|JPY|CNY|INR|SEK|NOK|DKK|PLN|CZK|HUF|MAD|TND|XOF|SGD|BRL"  # ISO 4217
CURRENCY = rf"€|euros?|k€|K€|k\s?€|\$|£|¥|₹|R\$|{_CODES}|balles"  # « 5 800 balles net »: euros, spoken
# « 4,350 EUR/month », « 3 200 € / mois »: the period belongs to the amount.
_PERIOD = (r"(?:[^\S\n]?/[^\S\n]?(?i:month|mois|an|année|year|yr|jour|day|h|heure|hour|semaine|week|monat|jahr|"
           r"maand|jaar)\b"
           # or in words (« 3 260 € par mois », « £4,000 per month », « 60k a year »)
           r"|[^\S\n]+(?i:par|per|a|an)[^\S\n]+(?i:mois|an|année|month|year|jour|day|heure|hour|semaine|week)\b"
           # « £78,500 per annum », « 52 k€ p.a. », « 2 500 € la demi-journée »
           r"|[^\S\n]+(?i:per[^\S\n]+annum\b|p\.a\.|(?:la|par|pour[^\S\n]+la)[^\S\n]+(?:demi-)?journée\b|"
           r"per[^\S\n]+half-day\b|for[^\S\n]+the[^\S\n]+(?:half-)?day\b)"
           # a translator's rate (« 0,14 € le mot », « €0.12 per word », « 0,10 €/mot »)
           r"|[^\S\n]?/[^\S\n]?(?i:mot|word)\b|[^\S\n]+(?i:le|par|per|a)[^\S\n]+(?i:mot|word)\b)?")
# « 46 000 € brut/an », « 720 € HT », « 2 105,33 € net », « € 5.600 brutto/Monat »: what the amount is before or
# after tax belongs to it (masking the figure alone would leave « brut/an » and say it was a salary).
_TAX_STATE = (r"(?:[^\S\n]+(?:brut|brute|bruts|nets?|HT|TTC|H\.T\.?|T\.T\.C\.?|hors[^\S\n]+taxes?|gross|brutto|netto|"
              # a fixed or base pay (« 58 K€ fixe », « €58,500 base + 10% target bonus »)
              r"fixe|fixed|base(?![^\S\n]+(?:de|d['’]|du|des|for|of|rate)\b))"
              # by the month or the year in one word (« 4 912,33 € brut mensuel », « 41 500 € bruts annuels »)
              r"(?:[^\S\n]+(?:mensuel|mensuels|annuel|annuels|monthly|annual|yearly|p\.a\.))?"
              rf"(?![\w]){_PERIOD})?")
# How many months the pay is spread over, or the extra month on top (« 2 650 € bruts mensuels sur 13 mois »,
# « 47 k€ brut + 13e mois »): part of what the pay is.
_SPREAD = (r"(?:[^\S\n]+(?i:sur|on|over|x)[^\S\n]+1[2-5](?:[.,]5)?[^\S\n]+(?i:mois|months)\b)?"
           r"(?:[^\S\n]*\+[^\S\n]*(?i:1[34](?:e|ème|eme|th)|treizième|quatorzième|13th|14th)[^\S\n]+(?i:mois|month)\b)?")
# A pay's name right after its amount (« €3,000 project bonus », « €6k sign-on », « €2,000 accelerator »).
_PAY_NAME_AFTER = (r"(?:[^\S\n]+(?:[a-z]+[^\S\n]+)?(?i:bonus|sign-?on(?:[^\S\n]+bonus)?|accelerator|commission|stipend|"
                   r"uplift|retention)\b)?")
# What follows an amount and belongs to it, in this order: its period, its tax state, its spread, its name.
_AMOUNT_TAIL = _PERIOD + _TAX_STATE + _SPREAD + _PAY_NAME_AFTER
_AMOUNT = regex.compile(
    rf"(?<![\w.,])(?:(?:{_NUMBER})[^\S\n]?(?:k|K)?[^\S\n]?(?:{CURRENCY})(?![\w]){_AMOUNT_TAIL}"
    # the symbol before, glued or not (« €84,000 », « € 4.250,00 »)
    rf"|(?:(?:R\$|\$|£|€|¥|₹|{_CODES})[^\S\n]?)(?:{_NUMBER})"
    # thousands or millions after the figure (« €52k », « EUR 1.15m », « $2.4M »)
    rf"(?:[^\S\n]?(?:k|K|m|M|bn)\b)?{_AMOUNT_TAIL}"
    # a figure said gross or net with no currency (« je suis payée 2 150 brut », « environ 2 800 net »), or a euro
    # typed « e » glued to it (« ma prime de 2300e »): the pay word is in the match, the context check passes
    r"|(?:\d{1,3}[ \u00a0\u202f.]\d{3}|\d{3,6})(?:[.,]\d{1,2})?[^\S\n]+(?:bruts?|brute|nets?|gross)"
    r"(?:[^\S\n]+(?:mensuel|annuel|monthly|annual|par[^\S\n]+mois|par[^\S\n]+an))?(?![\w])"
    r"|\d{4,6}e(?![\w])"  # not « 100e anniversaire »: an ordinal has fewer digits
    # thousands as « K » with no currency (« une offre à 58K fixe + 8K variable », « je suis à 51K »): a « 4K »
    # screen or « 8K » video needs its pay word after it
    r"|\d{1,3}(?:[.,]\d{1,2})?[^\S\n]?[kK][^\S\n]+(?:fixe|variable|bruts?|brute|nets?|gross|base)(?![\w])"
    r"|\d{2,3}(?:[.,]\d{1,2})?[^\S\n]?K(?![\w])(?![^\S\n]+(?!(?:par|per|a|an)\b)\p{Ll}))"  # not « 80K lignes »
)
# Whole words only (« payait » a supplier, « raised » a deviation, « internet », « cabinet » are no pay); an
# underscore separates words (« salaire_mensuel »).
PAY_WORDS = regex.compile(
    r"(?<![^\W_])(?i:salaires?|salariale?s?|salariaux|rémunérations?|rémunérée?s?|primes?|brut|brute|bruts|nets?|"
    r"fixe|variables?|augmentations?|paie|payée?s?|touche|touchera|perçoit|percevra|gagne|indemnités?|packages?|13e\s+mois|treizième|smic|"
    r"salary|salaries|pay|pays|paid|payroll|payslips?|paychecks?|wages?|compensations?|bonus|bonuses|gross|"
    r"earns?|earned|earnings|base\s+pay|"
    # what a person is paid besides a salary: fees, allowances, severance, daily rates
    r"honoraires|honorari(?:um|a)|allocations?|indemnisée?s?|gratifications?|intéressement|rétributions?|appointements|"
    r"taux\s+journalier|TJM|per\s+diem|allowances?|fees?|severance|stipend|daily\s+rate|payouts?|"
    # what a self-employed person is paid (« the invoice from our freelance translator … NOK 18 450 »)
    r"freelances?|freelancers?|auto-?entrepreneurs?|consultant(?:e|es|s)?\s+indépendant(?:e|es|s)?|"
    r"independent\s+consultants?|"
    # an offer of a job and the counter-offer (« I've accepted an offer elsewhere at 88,000 GBP »)
    r"job\s+offers?|counter-?offers?|accepted\s+an?\s+offer|contre-offres?|offre\s+d['’]emploi|"
    # a candidate's acceptance (« I accept the offer of €58,000 », « j'accepte votre offre à 52 000 € »)
    r"accept(?:s|ed|ing)?\s+(?:the|your|this|their|an?)\s+offer|accepte\s+(?:l['’]|votre\s+|cette\s+)offre|"
    # an offer's or a committee's shorthand (« comp », « sign-on »), shares granted as pay
    r"comp|sign-?on|rsus?|stock[\s-]+options?|actions\s+gratuites|"
    r"raises?|pay\s+rises?|remunerations?|base\s+(?:of|de)|"
    # a pay review and a contractor's rate (« no merit increase this year », « le taux horaire »)
    r"merit\s+increase|salary\s+review|revue\s+salariale|day\s+rate|hourly\s+rate|taux\s+horaire|"
    r"tarif\s+journalier|"
    # what a candidate asks for
    r"prétentions?|salary\s+expectations?|expected\s+salary|"
    # overtime is paid (« le paiement de 212 heures supplémentaires, soit 7 800 € »)
    r"heures\s+supplémentaires|overtime|"
    # what ends a contract is paid too (« Termination payment: £42,750 », « 12 weeks PILON »)
    r"termination\s+payments?|settlement\s+(?:payment|amount|sum)|pay\s+in\s+lieu|PILON)(?![^\W_])"
)
# A table column of pay: a header that says pay (« Salaire », « Bonus »), or pay or base with a currency
# (« Base (EUR) », « Brut (€) »); its cells that are bare numbers (« 72,400 ») are amounts of pay.
_PAY_COLUMN = regex.compile(r"(?i:salaires?|salary|salaries|rémunération|remuneration|compensation|bonus|primes?|"
                            r"wages?|base\s+pay|variable\s+pay|gross\s+pay|net\s+pay|"
                            # gross or net by the month or the year (« brut_mensuel », « Brut annuel »)
                            r"(?:brut|net|gross)[\s_]*(?:mensuel|annuel|monthly|annual|yearly))")
_PAY_OR_BASE = regex.compile(r"(?i:\bbase\b|brut|gross|net|fixe|variable|pay)")
_BASE_TITLE = regex.compile(r"(?i:base|fixe|fixed|base\s+salary|salaire\s+de\s+base)")
_HEADER_CURRENCY = regex.compile(rf"(?:{CURRENCY}|(?i:{_CODES}))(?![\w])")  # « Base (EUR) », « base_eur »
_BARE_NUMBER = regex.compile(rf"(?:{_NUMBER})")
# A grid, a band or a legal minimum (« grille conventionnelle », « salary bands … range from », « le SMIC »)
# is no one's pay: its amounts count only when the request names someone (the engine settles it).
_GRID = regex.compile(
    r"(?i:\b(?:grilles?|barèmes?|fourchettes?|bands?|ranges?|scales?|coefficients?|échelons?|"
    r"convention\s+collective|branche|minimum|minima|smic|plafonds?|caps?|capped|median|médiane?s?|moyenne|average|"
    # a position's pay, or a theoretical one (« TJM de 650 € HT pour un consultant », « un salarié en CDI à 45 000 € »,
    # « c'est un exemple théorique »)
    r"(?:pour|d['’]|of|for)\s*une?\s+(?:salariée?|consultante?|cadre|employée?|collaborat(?:eur|rice)|ingénieure?|"
    r"technicien(?:ne)?|intérimaire|freelance|employee|consultant|contractor|engineer|technician)|théoriques?|"
    r"theoretical|illustrati(?:f|ve|on)|"
    # a hypothesis about anyone (« Si un salarié gagne 3 000 € brut par mois, combien coûte-t-il ? »)
    r"(?:si|if|when|suppose)\s+(?:une?|an?)\s+(?:salariée?|employée?|collaborat(?:eur|rice)|employee|worker)|"
    r"market\s+rate|taux\s+du\s+marché|"
    # a rate the law sets (« statutory sick pay », « l'indemnité légale »), an example made up to explain a rule
    # (« un salaire de référence fictif de 3 000 € », « hypothetical salary », « valeurs factices »)
    r"statutory|légale?s?|fictifs?|fictives?|fictitious|hypothétiques?|hypothetical|factices?|"
    # a model clause's example amount (« [MONTANT] € HT (par exemple 10 000 € HT) »)
    r"par\s+exemple|à\s+titre\s+d['’]exemple|for\s+example|for\s+instance|"
    # a job offer's pay is a position's, not a person's (« Offre d'emploi … 28–32 k€ bruts selon expérience »)
    r"offres?\s+d['’]emploi|job\s+(?:offers?|ads?|adverts?|postings?)|vacanc(?:y|ies)|selon\s+(?:expérience|profil)|"
    r"depending\s+on\s+experience)\b)"
)
# ... unless the sentence says whose pay it is (« ma rémunération … cohérent avec la grille »).
# « I » before an amount or a dash is a grade's roman numeral (« Technician I €28,000–€33,000 »), not the pronoun.
_SOMEONE = regex.compile(r"(?i:\b(?:je|j['’]|mon|ma|mes|ton|ta|tes|votre|son|sa|ses|i(?![^\S\n]*[€$£\d–—-])|i['’]m|my|"
                         r"your|his|her)\b)")
# ... but not the one who read or saw the amount somewhere (« J'ai vu 2 300 € brut dans un document de branche »).
_SEEN = regex.compile(r"(?i:\bj['’]ai\s+(?:vu|lu|trouvé|entendu|noté|relevé)|\bi\s+(?:saw|read|found|noticed|heard)\b|"
                      r"\bi['’]ve\s+(?:seen|read|found|heard)\b)")
_NOT_PAY = regex.compile(r"(?i:prime\s+d['’]assurance|insurance\s+premium|net\s+de\s+taxe|prix\s+net|"
                       # a company's dividend is paid to its shareholders (« dividende de 1,40 € par action »)
                       r"dividendes?|dividends?|par\s+action|per\s+share)")
# A rate by the day, the hour or the word (« €720/day », « 900 €/jour », « 0,14 € le mot »): a person's work is paid so,
# ...
_RATE = regex.compile(r"(?i:/[^\S\n]?(?:jour|day|h|heure|hour|mot|word)\b|(?<![\w])(?:par|per|a|le|la|for[^\S\n]+the|"
                      r"pour[^\S\n]+la)[^\S\n]+"
                      r"(?:jour|day|heure|hour|mot|word|(?:demi-)?journée|half-day)\b)")
# ... or so many days times an amount (« 12 jours x 780 € HT », « 5 days × €650 »), ...
_DAYS_TIMES = regex.compile(r"(?i:\d+(?:[.,]\d+)?[^\S\n]*(?:jours?|j|days?|heures?|hours?|h|demi-journées?|half-days?)"
                            r"[^\S\n]*[x×*][^\S\n]*)$")
# ... a hire's or a room's is not (« la nacelle en location à 180 €/jour », « hotel at €140 per day »).
_NOT_A_FEE = regex.compile(r"(?i:\b(?:locations?|louée?s?|louer|loyers?|rental|rent|hire|hired|hôtels?|hotels?|"
                           r"chambres?|rooms?|parking|véhicules?|vehicles?|voitures?|cars?|machines?|équipements?|"
                           r"equipment|stockage|storage)\b)")
# A title's period does not end a sentence (« honoraria by country:\nDr. Hiroshi Tanaka, JP, 4500 EUR »).
_CLAUSE_START = regex.compile(r"(?:(?<!\b(?:Dr|Drs|Pr|Prof|Mr|Mrs|Ms|Mme|Mmes|Mlle|M|St|Sr|Jr|Me))[.!?]\s|\n\s*\n)")
# A number under a pay key of JSON, YAML, CSV-like exports or code (« "salaire_base":2870.50 », « bonus_2023: 2400 »,
# « gross_salary = 52000 »): a record's pay, counted when the request names someone (records do).
_KEYED_PAY = regex.compile(
    r"(?:(?i:(?<![\w])[\w]*(?:salaire|salary|wages?|bonus|prime|r[ée]mun[ée]ration|compensation|brut_|gross_|"
    r"net_pay|base_pay)[\w]*)"
    # a payslip's « "gross": » and « "net": » keys
    r"|(?<![\w])[\"'](?i:gross|net)(?=[\"']))"
    # after a colon or an equals sign, or as an XML element's text (« <brut_mensuel>3875.50</brut_mensuel> »)
    r"(?:[\"']?[^\S\n]*[:=]|(?<=<[\w]+)>)[^\S\n]*[\"']?(?P<value>\d{1,3}(?:[ \u00a0.,']?\d{3})*(?:[.,]\d{1,2})?)"
    r"(?![\w]|[.,]\d)"
)
# A form's pay line (« salaires des 3 derniers mois : 2 905,00 / 2 905,00 / 3 118,40 », « Net à payer : 2 611,42 »),
# or a payslip's, whose label ends in dot leaders or a run of spaces (« Net payé ......... 2 301,88 »): every figure
# after its label, counted when the request names someone.
_PAY_LINE = regex.compile(r"(?im:^[ \t\-*•]*(?:salaires?|salary|salaries|rémunérations?|net\s+à\s+payer|"
                          r"bruts?|nets?|gross(?:\s+pay)?|net\s+pay|bonus|primes?)\b[^\n:]{0,40}(?::|\.{3,}|[ \t]{2,}))"
                          r"(?P<figures>[^\n]*)")
_LINE_FIGURE = regex.compile(r"(?<![\w.,])(?:\d{1,3}(?:[ \u00a0\u202f.]\d{3})+(?:,\d{2})?|\d{2,6},\d{2})"
                             r"(?![\w]|[.,]\d)")
# A pay rise or a bonus as a percentage (« augmentation individuelle de 3,2 % », « a 15% target bonus », « prime de
# 10 % »): a percentage is everywhere (yields, assays), so only right next to these words; a bare « augmentation »
# (an increase of anything) is not enough.
_PERCENT = r"\d{1,2}(?:[.,]\d{1,2})?[^\S\n\u00a0\u202f]?[\u00a0\u202f]?%"
_PERCENT_PAY = regex.compile(
    r"(?i:(?<![\w])(?:augmentation\s+(?:individuelle|salariale|de\s+salaire|générale)|revalorisation\s+salariale|"
    r"bonus|primes?|variable|raise|pay\s+rise|merit\s+increase|salary\s+increase)"
    r"(?:\s+(?:cible|target|annuel(?:le)?|annual|individuel(?:le)?|sur\s+objectifs))?"
    r"(?:\s+(?:moved|raised|set|increased|cut|lowered|passée?|portée?|fixée?))?\s*(?:de|of|à|to|:|=)?\s*"
    # someone's rise (« ton augmentation sera de 4,5 % », « her raise will be 3% »)
    r"|(?<![\w])(?:mon|ton|son|ma|ta|sa|votre|leur|my|your|his|her|their)\s+(?:augmentation|raise|pay\s+rise)"
    r"(?:\s+(?:sera|serait|est|will\s+be|would\s+be|is))?\s*(?:de|of|:)?\s*)"
    rf"(?P<value>{_PERCENT})"
    # « 10 % variable », « a 15% target bonus »: what the percentage is belongs to it
    rf"|(?<![\w.,])(?P<value>{_PERCENT}(?i:\s+(?:target\s+|annual\s+|de\s+)?(?:bonus|prime|variable|raise|"
    r"pay\s+rise|merit\s+increase|d['’]augmentation\s+(?:individuelle|salariale|de\s+salaire))(?![\w])))"
    # a share of someone's pay (« target 12% of base », « 118% of target », « jusqu'à 30 % de la rémunération
    # fixe », « 15 % du salaire annuel brut »): what it is a share of belongs to it, and a share of a target passes
    # 100 (one more digit)
    r"|(?<![\w.,])(?P<value>(?i:(?:target|cible)\s+)?"
    rf"\d?{_PERCENT}(?i:\s+(?:of(?:\s+(?:the|your|his|her|my))?|de\s+(?:la|sa|votre|ta|ma)|du|de\s+son|de\s+votre|"
    r"de\s+mon|de\s+ton)\s+(?:base(?:\s+(?:salary|pay))?|target|salary|salaire|rémunération|fixe|variable|bonus|"
    r"pay|paie)(?:\s+(?:annuel(?:le)?|brut(?:e)?|fixe|de\s+base|mensuel(?:le)?|cible)){0,2})(?![\w]))"
)


# A pay rise or a bonus as a percentage under its key (« "augmentation": "3,2 %" », « variable_cible: 8 % »).
_KEYED_PERCENT = regex.compile(
    r"(?i:(?<![\w])[\w]*(?:augmentation|raise|increase|variable|bonus|prime|merit|revalorisation)[\w]*)[\"']?[^\S\n]*"
    rf"[:=][^\S\n]*[\"']?[^\S\n]*(?P<value>[+]?{_PERCENT})"
)
# A sentence about pay rises (« les augmentations 2025 validées : Nicolas 2,5 %, Fanny 3 % », « raises this year:
# Ana 3%, Tom 2% »): every percentage after it in the sentence is someone's rise. A bare « augmentation » is not
# enough (an increase of anything).
_RAISES = regex.compile(
    r"(?i:\b(?:augmentations?|hausses?)\s+(?:\d{4}|individuelles?|salariales?|de\s+salaire|annuelles?|validées?|"
    r"accordées?|retenues?)|\bpay\s+raises\b|\braises(?:\s+(?:\d{4}|this\s+year|for\s+\d{4}))?\s*:|\bmerit\s+increases\b|"
    r"\bsalary\s+increases\b|\brevalorisations?\s+salariales?)"
)
_SENTENCE_END = regex.compile(r"[.!?](?:\s|$)|\n")
_ANY_PERCENT = regex.compile(rf"(?<![\w.,])[+]?{_PERCENT}")
# A signed percentage right after an amount of pay is its rise (« 2 600 € au 1er avril (+6,1 %) »).
SIGNED_REACH = 30
_SIGNED_PERCENT = regex.compile(rf"[^\n.;]{{0,{SIGNED_REACH}}}?\(?(?P<value>[+][^\S\n]?{_PERCENT})")
# A number right after « base » is a base pay (« new base €78,000 », « "base": "USD 132,000" »).
_BASE_BEFORE = regex.compile(r"(?i:\bbase(?:[^\S\n]+to)?)[\"']?[^\S\n]*[:=]?[^\S\n]*[\"']?[^\S\n]*$"
                            # what it becomes (« base raised to €310,000 », « base salary goes up to … »)
                            r"|(?i:\bbase(?:\s+(?:salary|pay))?\s+(?:raised|increased|set|goes\s+up|going\s+up|moves?|"
                            r"revised)\s+to)[^\S\n]*$"
                            # in English, whom the amount pays (« currently he's on £76,500 », « I'm on €52k »)
                            r"|(?i:\b(?:i['’]m|i\s+am|he['’]s|she['’]s|he\s+is|she\s+is|they['’]re|you['’]re)(?:\s+currently)?\s+on)"
                            # in French, where someone's pay stands (« actuellement je suis à 51K »)
                            r"[^\S\n]*$|(?i:\b(?:je\s+suis|il\s+est|elle\s+est|tu\s+es)(?:\s+actuellement)?\s+à)"
                            r"[^\S\n]*$")

# ... or right after it (« he accepts €63,200 base »; not « 100 € base de calcul »: the amount's rule stops there).
_BASE_AFTER = regex.compile(r"(?i:\bbase)$")

# A post held by one person: its pay is that person's (« CEO total compensation … LTI grant 45,000 PSUs »).
_EXECUTIVE = regex.compile(r"(?i:\b(?:CEO|CFO|COO|PDG|DG|directeur\s+général|directrice\s+générale|président(?:e)?\s+"
                           r"(?:du\s+directoire|directeur\s+général)|chief\s+executive(?:\s+officer)?)\b)")


# Shares granted as pay (« attribution de 1 200 actions gratuites », « 500 RSUs »): the number and what it counts.
_SHARES = regex.compile(
    r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f.,]\d{3})*[^\S\n]+(?i:actions[^\S\n]+gratuites(?:[^\S\n]+de[^\S\n]+"
    r"performance)?|actions[^\S\n]+de[^\S\n]+"
    r"performance|stock[\s-]+options?|RSUs?|PSUs?|performance[^\S\n]+share[^\S\n]+units|restricted[^\S\n]+stock[^\S\n]+units|free[^\S\n]+shares|"
    r"performance[^\S\n]+shares)(?![\w])"
    # a grant of shares (« LTIP grant of 12,000 shares », « attribution de 800 actions »)
    r"|(?i:\b(?:LTIP?|long[\s-]term\s+incentive(?:\s+plan)?|PSU|PSUs)\s+(?:grant|award)\s+of\s+)"
    r"\d{1,3}(?:[ \u00a0\u202f.,]\d{3})*[^\S\n]+(?i:shares|units|PSUs?|RSUs?)(?![\w])"
)


class SalaryRecognizer(EntityRecognizer):
    """SALAIRE: amounts in the context of pay, in a sentence or in a table."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["SALAIRE", PAY_IF_NAMED], supported_language=LANGUAGE,
                         name="SalaryRecognizer")

    def load(self) -> None:
        """Nothing to load."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Every amount whose sentence (or table) speaks of pay, and the other figures of a pay statement."""
        return with_pay_figures(text, self._amounts(text))

    def _amounts(self, text: str) -> list[RecognizerResult]:
        results = []
        amounts = [*_AMOUNT.finditer(text), *WORD_AMOUNT.finditer(text), *MONTHS_OF_PAY.finditer(text)]
        for match in amounts:
            before = text[self._clause_start(text, match.start()) : match.start()]
            after = _SENTENCE_END_AFTER.split(text[match.end() : match.end() + AFTER_WINDOW])[0]
            context = before + " " + match.group() + " " + after  # « … € brut/an »: the amount says it too
            pay = PAY_WORDS.search(context) or _BASE_BEFORE.search(before) or _BASE_AFTER.search(match.group())
            if not pay and (_RATE.search(match.group()) or _DAYS_TIMES.search(before)) \
                    and not _NOT_A_FEE.search(context):
                # a rate by the day, the hour or the word is what a contractor is paid (« 14 days at €720/day »)
                results.append(RecognizerResult(PAY_IF_NAMED, match.start(), match.end(), SCORE))
                continue
            if pay and not _NOT_PAY.search(context):
                kind = (PAY_IF_NAMED if _GRID.search(context) and not _SOMEONE.search(_SEEN.sub(" ", context))
                        else "SALAIRE")
                results.append(RecognizerResult(kind, match.start(), match.end(), SCORE))
                signed = _SIGNED_PERCENT.match(text, match.end())
                if signed:
                    results.append(RecognizerResult(kind, signed.start("value"), signed.end("value"), SCORE))
        for match in _KEYED_PAY.finditer(text):
            start, end = match.span("value")
            results.append(RecognizerResult(PAY_IF_NAMED, start, end, SCORE))
        for line in _PAY_LINE.finditer(text):
            results += [RecognizerResult(PAY_IF_NAMED, figure.start(), figure.end(), SCORE)
                        for figure in _LINE_FIGURE.finditer(text, *line.span("figures"))]
        results += share_grants(text, PAY_IF_NAMED, SCORE)
        results += [RecognizerResult(PAY_IF_NAMED, m.start(), m.end(), SCORE) for m in K_RANGE.finditer(text)]
        for match in _SHARES.finditer(text):
            context = text[self._clause_start(text, match.start()) : match.end() + AFTER_WINDOW]
            kind = "SALAIRE" if _SOMEONE.search(context) or _EXECUTIVE.search(context) else PAY_IF_NAMED
            results.append(RecognizerResult(kind, match.start(), match.end(), SCORE))
        if "%" not in text:
            return results + _pay_cells(text)  # the rules below read percentages only
        for match in _PERCENT_PAY.finditer(text):
            context = text[self._clause_start(text, match.start()) : match.end() + AFTER_WINDOW]
            if not _NOT_PAY.search(context):
                kind = "SALAIRE" if _SOMEONE.search(context) else PAY_IF_NAMED
                start, end = match.span("value")
                results.append(RecognizerResult(kind, start, end, SCORE))
        for match in _KEYED_PERCENT.finditer(text):
            results.append(RecognizerResult(PAY_IF_NAMED, match.start("value"), match.end("value"), SCORE))
        for match in _RAISES.finditer(text):
            end = _SENTENCE_END.search(text, match.end())
            end = end.start() if end else len(text)
            context = text[self._clause_start(text, match.start()) : end]
            if not _NOT_PAY.search(context):
                kind = "SALAIRE" if _SOMEONE.search(context) else PAY_IF_NAMED
                results += [RecognizerResult(kind, percent.start(), percent.end(), SCORE)
                            for percent in _ANY_PERCENT.finditer(text, match.end(), end)]
        return results + _pay_cells(text)

    @staticmethod
    def _clause_start(text: str, position: int) -> int:
        """Where the sentence, or the table, that holds `position` starts."""
        line_start = text.rfind("\n", 0, position) + 1
        if text.startswith("|", line_start) or "\t" in text[line_start:position]:
            return _table_start(text, line_start)
        ends = list(_CLAUSE_START.finditer(text, 0, position))
        return ends[-1].end() if ends else 0


def _table_start(text: str, line_start: int) -> int:
    """The start of the table a row belongs to (its header row is then part of the context)."""
    start = line_start
    while start > 0:
        previous = text.rfind("\n", 0, start - 1) + 1
        line = text[previous : start - 1]
        if not (line.lstrip().startswith("|") or "\t" in line):
            break
        start = previous
    return start


def _pay_cells(text: str) -> list[RecognizerResult]:
    """Bare numbers in the pay columns of the text's tables."""
    results = []
    for table in tables(text):
        titles = [title.replace("_", " ").strip() for title in table.header]  # an export's « base_eur », « bonus_eur »
        columns = {i for i, title in enumerate(titles) if _is_pay_column(title)}
        if columns:  # « | Nom | Base | % | Prime | »: beside a pay column, « Base » is the base pay
            columns |= {i for i, title in enumerate(titles) if _BASE_TITLE.fullmatch(title)}
        for row in table.rows[1:]:
            results += [RecognizerResult(PAY_IF_NAMED, start, end, SCORE) for column, (start, end) in enumerate(row)
                        if column in columns and _BARE_NUMBER.fullmatch(text, start, end)]
    return results


def _is_pay_column(title: str) -> bool:
    return bool(_PAY_COLUMN.search(title) or (_PAY_OR_BASE.search(title) and _HEADER_CURRENCY.search(title)))

