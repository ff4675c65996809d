"""Names of persons, without flagging the vocabulary of GMP texts.

The small French spaCy model tags "Personne Qualifiée", "Résume l'Annexe" or "Deming" as persons,
and on the GMP guide "Bulletin Officiel Spécial", "Hazard Analysis" or "Look Back". A name is
therefore reported only with evidence: a title ("M.", "Mme", "Dr"), a context word ("patient",
"signé par", "written by", "l'opérateur"), a known first name followed by a surname, or a known
first name alone that spaCy tags PER ("le mail de Julien"; spaCy's NER runs only on the sentence
around such a first name, which keeps inspection fast), a SURNAME before a known first name
("LEBLANC Yvette"), a lower-case name after a lower-case title ("mme lefebvre"), and in tables the
cells of a name column ("Nom", "Prénom", "Opérateur"...) or a cell next to a first-name cell
("FAURE;Mathieu"). First names of other countries, names typed in lower case and signatures come
from `first_names.py`; greetings, requests, initials and e-mail names from `name_contexts.py`.
A candidate is cut at the first word of `non_personnes.txt` or roman numeral;
methods named after people ("méthode de Karl Fischer"), streets with their number after the name
("Domenico Scarlattilaan 6") and authors in bibliographic references (near "ISBN", "et al.") are
public, not personal data.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.engine import PERSON_IF_PERSONAL, PERSON_IF_SPACY
from relais.guard.entities import SentenceEntities
from relais.guard.first_names import FirstNameEvidence, sentence_around
from relais.guard.lexicon import common_words, french_lexicon
from relais.guard.name_contexts import ContextNames
from relais.guard.recognizers import LANGUAGE, NAME, NAME_CONTEXT, NAME_WORD, TITLES, read_word_list
from relais.guard.tables import Table, tables
from relais.guard.tagger import occurrences

TITLE_SCORE = 0.85
CONTEXT_SCORE = 0.8
FIRST_NAME_SCORE = 0.75
SPACY_SCORE = 0.6
TABLE_SCORE = 0.75
BIBLIOGRAPHY_WINDOW = 80
NER_REACH = 60  # characters of context each side of a run no list knows, for spaCy's NER
# An initial after a name (« Voahangy R. », « Thenmozhi R.: ») is part of it.
_INITIAL = r"[ \u00a0]\p{Lu}\."
_NAME_WITH_INITIAL = rf"{NAME}(?:{_INITIAL})?"

# Not after a number: "0,1 M. Ensuite" is a molarity, not Monsieur Ensuite.
_AFTER_TITLE = regex.compile(rf"(?<![\w,.])(?<!\d[ \u00a0])(?:{TITLES})[ \u00a0]+"
                             rf"(?P<name>(?:d['’]|de[ \u00a0]|du[ \u00a0]|van[ \u00a0]|von[ \u00a0])?{NAME})")
_AFTER_CONTEXT = regex.compile(rf"\b{NAME_CONTEXT}[ \u00a0]+(?:(?:{TITLES})[ \u00a0]+)?(?P<name>{NAME})")
# Initials for a name: « J.-P. M. » anywhere (a compound first name's initials), « Mme R. T. » or
# « Patiente M.-C. D. » after a title or a context word.
_INITIALS = r"[A-ZÀ-Ý]\.(?:-[A-ZÀ-Ý]\.)?[ \u00a0]?[A-ZÀ-Ý]\.(?![\w])"
_WHOLE_INITIALS = regex.compile(_INITIALS)  # compiled once (see first_names._NAME_WORD)
_HYPHENATED_INITIALS = regex.compile(r"(?<![\w.])(?P<name>[A-ZÀ-Ý]\.-[A-ZÀ-Ý]\.[ \u00a0][A-ZÀ-Ý]\.)(?![\w])")
_INITIALS_AFTER_TITLE = regex.compile(rf"(?<![\w,.])(?:(?:{TITLES})|{NAME_CONTEXT})[ \u00a0]+(?P<name>{_INITIALS})")
_NAME_RUN = regex.compile(rf"(?P<name>{NAME_WORD}(?:[ \u00a0]{NAME_WORD}){{1,2}})")
_NAME_WORD_ONLY = regex.compile(rf"{NAME_WORD}")
_ANY_WORD = regex.compile(r"(?<![\w@.-])\p{L}+(?:['’-]\p{L}+)*(?<!['’]s)(?![\w@-])|(?<![\w@.-])\p{L}+(?=['’]s\b)")
# "LEBLANC Yvette": a surname in capitals, then (checked against the list) a first name.
_SURNAME_FIRST = regex.compile(r"(?<![\w])(?P<surname>(?:[A-Z]['’])?[A-ZÀ-Ý]{2,}(?:[-'’ ][A-ZÀ-Ý]{2,})?)[ \u00a0]+"
                               r"(?P<first>[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)?)(?![\w])")
# "Auteur : Benoît TESSIER", "Vérifié par : X": a signature block's role, a colon, a name.
_AFTER_ROLE_LABEL = regex.compile(
    r"(?i:auteur|rédacteur|rédactrice|vérificateur|vérificatrice|approbateur|approbatrice|signataire|"
    rf"author|reviewer|approver|nom|name|"
    # a rota's or a ticket's roles (« primary: Björn Lindqvist », « assignee: … », « Pilote : … »)
    r"primary|backup|secondary|owner|assignee|assigned\s+to|reporter|requester|requested\s+by|on-?call|"
    r"demandeur|demandeuse|référent|référente|suppléant|suppléante|pilote|interlocuteur|interlocutrice|"
    r"assignée?\s+à|attribuée?\s+à|affectée?\s+à|collaborat(?:eur|rice)|salariée?|employée?|employee|"
    r"candidate?|stagiaire|intérimaire|trainee|agent|"
    # the names of a form (« Nom d'usage : », « Nom de naissance : », « Salarié(e) : », « Maiden name: »)
    r"nom\s+d['’]usage|nom\s+de\s+naissance|nom\s+de\s+jeune\s+fille|nom\s+marital|nom\s+de\s+famille|"
    r"maiden\s+name|birth\s+name|family\s+name|salarié\(e\)|employé\(e\))"
    rf"[ \u00a0]*:[ \u00a0]*(?P<name>{_NAME_WITH_INITIAL})(?![\w])"
)
# « - name: Set LIMS database password »: after the generic « name: » or « nom : », words going on in lower case make
# a task's, a setting's or an item's name (a YAML playbook), not a person's.
_GENERIC_LABEL_SENTENCE = regex.compile(r"(?i:name|nom)[ \u00a0]*:")
_LOWER_WORD_AFTER = regex.compile(r"[ \u00a0]+\p{Ll}")
# A sentence about the history of a science or a Nobel prize names public figures (« Alexander Fleming (pénicilline) »,
# « Doudna and Charpentier's 2012 paper … Nobel Prize »), not the people of the company.
_PUBLIC_FIGURES = regex.compile(
    r"(?i:\bnobel\b|\bhistoire\s+(?:de\s+la|des|du|de\s+l['’])\s*(?:pharmacie|médecine|chimie|biologie|sciences?|"
    r"vaccins?|vaccination|pharmacologie|microbiologie|génétique|médicaments?|physique)\b|"
    r"\bhistory\s+of\s+(?:the\s+)?(?:pharmacy|medicine|chemistry|biology|sciences?|vaccines?|vaccination|"
    r"pharmacology|microbiology|genetics|drugs?|physics)\b|"
    # a publication (« Le Pr X a publié en 2020 sur … », « l'article de X et Y paru dans Science »), a press conference,
    # or who someone is asked (« Who is X and what was … ? »): a public figure's public acts
    r"\b(?:a|ont|avait|avaient)\s+publié\s+(?:en\s+(?:19|20)\d\d|dans|sur|un\s+article|une\s+étude)|"
    r"\bparue?s?\s+dans\b|\bpublished\s+(?:in|a\s+(?:paper|study|article)|(?:19|20)\d\d)\b|"
    r"\bconférences?\s+de\s+presse\b|\bpress\s+conferences?\b|"
    # a public office or a public statement (« X, alors ministre de la Santé », « X's public remarks, as Pfizer
    # CEO », « the FDA reviewer who refused … »)
    r"\b(?:alors|ancienne?|ex-?)\s+ministres?\b|\bministres?\s+(?:de\s+la|des|du|de\s+l['’])\s*(?-i:\p{Lu})|"
    r"\b(?:former|then)\s+(?:health\s+)?ministers?\b|\bministers?\s+(?:of|for)\s+(?-i:\p{Lu})|"
    r"\bpublic\s+(?:remarks|statements?)\b|\bdéclarations?\s+publiques?\b|"
    r"\bas\s+(?-i:\p{Lu}[\w&-]+)\s+(?:CEO|chief\s+executive|chairman|chairwoman|president)\b|"
    r"\b(?:FDA|EMA|WHO|OMS|ANSM|MHRA)\s+(?:reviewer|commissioner|director[\s-]general)\b|"
    r"\bwho\s+(?:is|was)\s+(?=(?-i:\p{Lu}))|(?m:^)\s*qui\s+(?:est|était)\s+(?=(?-i:\p{Lu})))"
)
# A chat message's time at the start of its line (« [07:02] », « 14:05 - », « 12/03/2025, 09:14 »).
_MESSAGE_TIME = r"(?m:^[ \t]*(?:\d{1,2}/\d{1,2}/\d{2,4},?[ \t]+)?\[?\d{1,2}[:h]\d{2}(?::\d{2})?\]?[ \t]*[-–]?[ \t]*)"
# A chat transcript's speaker, after the message's time (« [07:02] Thenmozhi R.: », « 14:05 - Awa Diallo: »).
_SPEAKER = regex.compile(_MESSAGE_TIME + rf"(?P<name>{_NAME_WITH_INITIAL})[ \t]*:")
# A chat mention (« @Ioana tu peux reprendre… »): a first name after « @ » (« @Override » is code, not a name).
_MENTION = regex.compile(r"(?<![\w.@])@(?P<name>\p{Lu}\p{Ll}+(?:-\p{Lu}\p{Ll}+)?)(?![\w@-]|\.\w)")
# A speaker typed in lower case (« [09:12] mike: », « [10:02] seb : »): a known first name, or one who speaks twice.
_LOWER_SPEAKER = regex.compile(_MESSAGE_TIME + r"(?P<name>\p{Ll}[\p{Ll}'’-]{1,19})[ \t]*:(?![/\\])")
_LOG_WORDS = frozenset({"error", "erreur", "warn", "warning", "info", "debug", "trace", "fatal", "critical", "notice",
                        "alert", "emerg", "crit", "err", "http", "https", "ftp", "ssh", "note", "todo", "fixme"})
# A login made of an initial and a surname (« m.dubois », « k.nakamura ») after a word that says whose it is
# (« user », « login », « with », « par »…); the surname is no word of a language.
_INITIAL_DOT_SURNAME = regex.compile(
    r"(?<![\w.@/\\-])(?P<name>\p{Ll}\.(?P<surname>\p{Ll}[\p{Ll}'’-]{2,}\p{Ll}))(?![\w@(\[]|\.\w|-\w)"
)
_LOGIN_CUE_BEFORE = regex.compile(
    r"(?i:\b(?:user|users|username|login|logon|utilisateur|identifiant|compte|account|uid|owner|author|auteur|"
    r"reviewer|assignee|by|with|avec|par|and|et|cc|from|de|à|to|for|pour))\b[^\n]{0,25}$"
)
# A login glued (« jpark », « mleroux ») only right after its key or in a home folder (« C:\Users\mleroux\ »).
_LOGIN_AFTER_KEY = regex.compile(
    r"(?i:\b(?:login|username|user\s+name|identifiant|utilisateur|user(?=\s*[:=])|uid))[^\n:=]{0,15}?"
    r"(?:[:=]|\bc['’]est\b|\bis\b|\best\b)[ \t]*[\"']?(?P<name>\p{Ll}\.?\p{Ll}{3,20})(?![\w@.\-]|\.\w)"
)
_HOME_FOLDER = regex.compile(r"(?i:[A-Z]:\\Users\\|/home/|/Users/)(?P<name>[A-Za-z][\w.-]{2,30})(?=[\\/])")
_SYSTEM_ACCOUNTS = frozenset({
    "admin", "administrator", "administrateur", "root", "postgres", "guest", "test", "user", "service",
    "system", "ubuntu", "oracle", "mysql", "jenkins", "deploy", "public", "default", "sysadmin", "nobody",
    "www-data", "apache", "nginx", "operator", "support", "demo", "dba", "runner", "docker", "git", "vagrant",
    "ec2-user", "centos", "debian", "pi", "shared", "all users", "defaultuser0"})
# A service account says what it serves (« pvadmin », « svc-lims », « qabot »).
_SERVICE_ACCOUNT = regex.compile(r"(?i:admin|svc|service|srv|app|bot|test|sys|backup|batch|robot|daemon|api)")
# « ARRET_Sophie_Vidal_2024.pdf »: a first name and a surname joined by underscores in a file or a key.
_UNDERSCORE_NAME = regex.compile(r"(?<![^\W_])(?P<first>\p{Lu}\p{Ll}+)_(?P<surname>\p{Lu}\p{Ll}+|\p{Lu}{2,})(?![^\W_])")
# Where a name found by another rule goes on with an initial (`_end_of_name`).
_TRAILING_INITIAL = regex.compile(rf"{_INITIAL}(?![\w])")
# "mme lefebvre": a title typed in lower case, then a lower-case word that is not a grammar word.
_LOWER_AFTER_TITLE = regex.compile(
    r"(?<![\w])(?:mme|mlle|madame|monsieur|m\.|mr|mrs|ms|dr|docteur)[ \u00a0]+"
    r"(?!(?:la|le|les|de|du|des|et|un|une|est|a|the|and|vous|votre|nous)\b)(?P<name>[a-zà-ÿ][a-zà-ÿ'’-]{2,})"
)
# A name announced by the birth date after it (« Olumide Adeyemi (DOB 1987-03-15) », « X, née le … »).
_BEFORE_BIRTH = regex.compile(
    rf"(?P<name>{NAME})[ \u00a0]*,?[ \u00a0]*\(?(?:DOB|D\.O\.B\.|(?i:born|née?[ \u00a0]+(?:le|en|à)|"
    r"date[ \u00a0]+de[ \u00a0]+naissance|birth[ \u00a0]*date|date[ \u00a0]+of[ \u00a0]+birth))(?![\w])"
)
_BIRTH_WORD = regex.compile(r"DOB|D\.O\.B|(?i:born|née?\s|naissance|birth)")
_MARRIED_WORD = regex.compile(r"épouse|ép\.|née|veuve|wife\s+of")
# « Van den Berg, Sanne », « dos Santos, Ricardo »: a surname with its particles, a comma, a first name.
_PARTICLE = r"(?:[Vv]an|[Vv]on|[Dd]e|[Dd]en|[Dd]er|[Dd]os|[Dd]as|[Dd]a|[Dd]o|[Dd]u|[Dd]el|[Dd]i|[Ll]e|[Ll]a|[Tt]er)"
_SURNAME_COMMA_FIRST = regex.compile(
    rf"(?<![\w,])(?P<surname>(?:{_PARTICLE}[ \u00a0]+){{0,2}}{NAME_WORD}),[ \u00a0]*"
    r"(?P<first>\p{Lu}\p{Ll}+(?:-\p{Lu}\p{Ll}+)?)(?![\w])"
)
# « GIRARD épouse MENSAH Estelle », « Anne Morel née Duval »: one person under both names.
_MARRIED_NAME = regex.compile(rf"(?P<name>{NAME}[ \u00a0]+(?:épouse|ép\.|née|veuve|wife[ \u00a0]+of)[ \u00a0]+{NAME})")
_NAME_HEADER = regex.compile(
    r"(?i:^(?:nom|noms|prénom|prénoms|prenom|prenoms|nom\s+prénom|nom\s+et\s+prénom|name|first\s*name|"
    r"last\s*name|surname|full\s*name|opérat(?:eur|rice)|salariée?|collaborat(?:eur|rice)|employée?|agent|"
    r"technicien(?:ne)?|auteur|vérificat(?:eur|rice)|approbat(?:eur|rice)|signataire|responsable|patiente?|"
    r"participante?|intervenante?|destinataire|contact|stagiaire|personne|titulaire|candidate?|employee|"
    r"operator|author|owner|reviewer|approver|person|staff)$)"
)
# A column that holds nothing but names: there, a name in lower case (« da silva », « smith john ») is one too.
_PERSON_NAME_HEADER = regex.compile(
    r"(?i:^(?:nom|noms|prénom|prénoms|prenom|prenoms|nom[\s_]+(?:et[\s_]+)?prénom|nom[\s_]+(?:de[\s_]+)?famille|"
    r"name|first[\s_]*name|last[\s_]*name|given[\s_]*name|family[\s_]*name|surname|full[\s_]*name)$)"
)
_ANY_CASE_NAME_CELL = regex.compile(r"\p{L}[\p{L}'’-]+(?:[ \u00a0]\p{L}[\p{L}'’-]+){0,3}")
# a name cell, its first name's initial before or after it (« J. Morel », « Morel J. »)
_NAME_CELL = regex.compile(rf"(?:[A-ZÀ-Ý]\.[ \u00a0]?)?(?:{NAME}|[A-ZÀ-Ý][a-zà-ÿ]+(?:[ \u00a0][A-ZÀ-Ý][a-zà-ÿ]+)*)"
                           rf"(?:{_INITIAL})?")
_FOLLOWED_BY_NAME_WORD = regex.compile(rf"[ \u00a0]{NAME_WORD}")
_PRECEDED_BY_NAME_WORD = regex.compile(rf"{NAME_WORD}[ \u00a0]$")
# "Domenico Scarlattilaan 6, 1083 HS", "Karl-Marx-Straße 12": a street named after someone, its number after it.
_HOUSE_NUMBER_AFTER = regex.compile(r"[ \u00a0]+\d{1,4}[a-zA-Z]?(?:,|[ \u00a0]+\d{4,5}\b)")
# Verbs of calling, warning or thanking someone (« appeler Karim », "thank Anneke").
_CALLING = (r"appeler|appelle|appelez|rappeler|rappelle|contacter|contacte|contactez|prévenir|préviens|prévenez|"
            r"relancer|relance|remercier|remercie|merci\s+à|call|ask|contact|email|tell|thank|thanks")
# A first name right after these words is someone addressed or spoken of ("appeler Karim", "que Nicolas reprend").
_ADDRESSING_BEFORE = regex.compile(
    rf"(?i:{_CALLING}|demander\s+à|demande\s+à|avec|pour|que|qu['’]|par|à|de|d['’]|chez|selon|"
    r"with|from|to|by|that)[ \u00a0]*$"
)
# What makes a first name alone someone, whatever spaCy says: owning something (« Yusuf's contract »),
# being absent or away (« Rodrigue absent jeudi », « Lena won't be at standup »), a role in a meeting
# (« Bea (notes) »), a family tie or a team role before it (« your brother Tiago », « team lead Siobhan »),
# being called (« appeler Karim », « thank Anneke »), or addressed at the start of a message (« Kwame, so sorry »).
_PERSON_AFTER = regex.compile(
    r"['’]s\b|[ \u00a0]*\((?i:notes?|scribe|minutes|secrétaire|secretary|CR|compte[ \u00a0]rendu)\)"
    r"|[ \u00a0]+(?i:absente?s?|won['’]t|will[ \u00a0]+not|can['’]t|cannot|isn['’]t|is[ \u00a0]+off|is[ \u00a0]+out|"
    r"n['’]est[ \u00a0]+pas|ne[ \u00a0]+sera[ \u00a0]+pas|sera[ \u00a0]+absente?|at[ \u00a0]+home|à[ \u00a0]+domicile|"
    r"est[ \u00a0]+en[ \u00a0]+(?:congé|arrêt|télétravail|vacances|formation)|"
    r"is[ \u00a0]+on[ \u00a0]+(?:leave|holiday|vacation))\b"
)
_PERSON_BEFORE = regex.compile(
    r"(?i:\b(?:brother|sister|wife|husband|partner|son|daughter|mother|father|cousin|colleague|teammate|lead|manager|"
    r"boss|joiner|intern|frère|sœur|mari|femme|épouse|époux|fils|fille|cousine?|collègue|binôme|cheffe?|"
    rf"{_CALLING}|avec|with))[ \u00a0]+$"
)
# « reply to Aisha: », « l'adresse perso de Hamza : »: a first name after a preposition, then a colon.
_PREPOSITION_BEFORE = regex.compile(r"(?i:\b(?:to|for|from|à|a|de|pour))[ \u00a0]+$")
_COLON_AFTER = regex.compile(r"[ \u00a0]?:(?![\d/])")
_MESSAGE_START_BEFORE = regex.compile(r"(?:^|[\n'\"«“‘:][ \u00a0]*)$")
_COMMA_AFTER = regex.compile(r"[ \u00a0]*,")
# A first name right before a percentage, on a line about rises or bonuses (« Nicolas 2,5 %, Fanny 3 % + prime »);
# a city before a price or a share (« Paris–Milan 148 € ») is no one.
_PERCENT_AFTER = regex.compile(r"[ \u00a0]*:?[ \u00a0]*[+]?\d{1,2}(?:[.,]\d{1,2})?[ \u00a0]?%")
_RAISE_WORDS = regex.compile(r"(?i:augmentation|revalorisation|raise|increase|bonus|prime|salaire|salary|variable|"
                             r"rémunération|merit)")
# A message signed on its last line after a closing word and a comma (« Cheers, Oli' », « Merci, Inès »).
_CLOSING_COMMA_NAME = regex.compile(
    r"(?i:\b(?:cheers|thanks|thank\s+you|thx|merci|cordialement|regards|best|bises|bisous|ciao|a\+|à\s+\+))[ \t]*,"
    r"[ \t]*(?P<name>\p{Lu}\p{Ll}+(?:-\p{Lu}\p{Ll}+)?)[ \t]*[.!]?[ \t]*(?=['\"»”]|\n|$)"
)
# ... or typed all in lower case after a full stop, with an initial (« … merci. mélanie c. »): a known first name only.
_CLOSING_LOWER_NAME = regex.compile(
    r"(?i:\b(?:cheers|thanks|thank\s+you|thx|merci|cordialement|regards|bises|bisous))[ \t]*[,.!]+[ \t]*"
    r"(?P<name>(?P<first>\p{Ll}+(?:-\p{Ll}+)?)(?:[ \t]+\p{Ll}(?:\.|\p{Ll}+))?)[ \t]*[.!]?[ \t]*(?=\n|$)"
)
# A month that is also a first name, in a date (« Primary completion: August 2023 », « The Lancet, June 2024 »,
# « le 3 Juin »): no one.
_MONTH_AT_END = regex.compile(r"(?:April|May|June|July|August|Avril|Mai|Juin|Juillet|Août)$")
_YEAR_AFTER = regex.compile(r"[ \u00a0]+(?:19|20)\d\d(?!\d)")
_DAY_BEFORE = regex.compile(r"(?<![\d])\d{1,2}(?:er)?[ \u00a0]+$")


# A company's kind right after a name (« Vernier Pharma », « Sylvain Therapeutics »): the name is the company's.
_COMPANY_KIND = (r"(?:Pharma|Pharmaceuticals|Pharmaceutique|Biologics|Therapeutics|Biotech|Biotechnologies|Healthcare|"
                 r"Laboratories|Diagnostics)")
_COMPANY_KIND_WORD = regex.compile(_COMPANY_KIND)
_COMPANY_KIND_AFTER = regex.compile(rf"[ \u00a0]+{_COMPANY_KIND}(?![\w-])")


def _is_a_date(text: str, start: int, end: int) -> bool:
    """Whether a name candidate ends with a month that a year follows, or is a month after a day's number."""
    month = _MONTH_AT_END.search(text, start, end)
    return bool(month) and (bool(_YEAR_AFTER.match(text, end))
                            or (month.start() == start and bool(_DAY_BEFORE.search(text, max(0, start - 6), start))))


# « Yusuf's contract »: NAME_WORD reads the possessive as part of the word.
# An eponym is no one: « Addison's disease », « St Vincent's University Hospital ».
_POSSESSIVE_NAME = regex.compile(
    r"(?<![\w@./-])(?<!\b(?:St|Saint|Ste|Sainte)\.?[ \u00a0])(?P<name>\p{Lu}\p{Ll}+(?:-\p{Lu}\p{Ll}+)?)['’]s(?![\w])"
    r"(?![ \u00a0]+(?:\p{Lu}|(?i:disease|syndrome|sign|test|law|palsy|phenomenon|reflex|criteria|scale|index)\b))"
)
# « Attendees: Olumide Adeyemi, Catherine Vasseur-Lambert, Bea (notes) »: each item of a list of people.
_PEOPLE_LIST = regex.compile(
    r"(?i:attendees|participants|présents|présentes|présent\(e\)s|absents|excusés|excusées|excused|apologies|"
    r"invités|invitées|invited|diffusion|distribution|copie[ \u00a0]+à)[ \u00a0]*:[ \u00a0]*(?P<items>[^\n]+)"
)
_LIST_ITEM = regex.compile(
    rf"(?:^|(?<=[,;]|[ \u00a0]et[ \u00a0]|[ \u00a0]and[ \u00a0]))[ \u00a0]*(?P<name>{NAME})"
    r"[ \u00a0]*(?:\([^()\n]{0,30}\))?[ \u00a0]*(?=[,;.]|[ \u00a0]et[ \u00a0]|[ \u00a0]and[ \u00a0]|$)"
)
# "Saint-Denis", "Sainte-Claire", "boulevard Vincent Auriol": a place, not a person.
_SAINT_BEFORE = regex.compile(
    r"(?i:saint|sainte|st|ste)-$"
    r"|(?i:\b(?:rue|avenue|av\.|boulevard|bd|place|allée|impasse|quai|chemin|square|cours|route|lycée|collège|"
    r"hôpital|centre\s+hospitalier|CHU|université|institut|fondation|stade|pont|parc))"
    r"\s+(?:(?:du|de\s+la|de\s+l['’]|des|de|d['’])\s*)?(?:(?:Général|Maréchal|Président|Docteur|Professeur|Abbé)\s+)?$"
)
# "méthode de Karl Fischer", "loi d'Arrhenius": a method or law named after someone is not personal data.
_EPONYM_BEFORE = regex.compile(
    r"(?i:méthode|loi|test|équation|diagramme|titrage|modèle|principe|théorème|échelle|effet|réaction|coefficient|"
    r"method|law|equation|model|titration|principle|scale|"
    # institutions named after someone (« Centre Oscar Lambret », « Institut Gustave Roussy »)
    r"centre|center|institut|institute|hôpital|hospital|clinique|clinic|fondation|foundation|université|"
    r"university|lycée|école|collège|prix|award)\s+(?:(?:de|du|des|of)\s+|d['’])?$"
    # a condition or a sign named after a physician (« syndrome de Gilles de la Tourette »; « je signe Sarah » is not)
    r"|(?i:maladies?|syndromes?|signes?|diseases?|signs?)\s+(?:(?:de|du|of)\s+|d['’])$"
)
# « Ludovic de la Tour », « Pieter-Jan de Wit », « Carmen Ruiz de Alarcón », « DE KERGUELEN Hélène »: the
# particles of a surname and what follows them belong to the name.
_PARTICLES = (r"(?:de(?:[ \u00a0]la)?|du|des|d['’]|van(?:[ \u00a0]der|[ \u00a0]den)?|von|der|da|dos|das|del|della|"
              r"di|le|la|bin|ben|el|al)")
_PARTICLE_TAIL = regex.compile(rf"[ \u00a0]{_PARTICLES}[ \u00a0]?{NAME_WORD}(?:[ \u00a0]{NAME_WORD})?")
_CAPITAL_PARTICLES_BEFORE = regex.compile(r"(?<![\w])(?:DE(?:[ \u00a0]LA)?|DU|VAN(?:[ \u00a0]DER|[ \u00a0]DEN)?|VON|DA|"
                                          r"DOS|DEL|DI|LE|LA|EL|AL|BEN)[ \u00a0]$")
# A person's name as a value of JSON, YAML or code (« "nom": "Mensah" », « last_name='Diallo' »); "name" alone
# names equipment and products too, so it is not one of the keys.
_KEYED_NAME = regex.compile(
    r"(?i:\b(?:nom|noms|prenom|prénom|prenoms|prénoms|first_?name|last_?name|given_?name|family_?name|surname|full_?name|"
    r"nom_?(?:de_?)?famille|nom_?complet))[\"']?[^\S\n]*[:=][^\S\n]*[\"'](?P<name>\p{L}[\p{L}'’ \-]{1,50})[\"']"
)
_BIBLIOGRAPHY = regex.compile(r"ISBN|\bet al\.|(?i:traduit par|translated by|edited by)")
# A template's field (« Dear [Employee Name], », « {{nom_salarie}} », « <Prénom NOM> »): what to write there, no one.
_TEMPLATE_FIELD = regex.compile(r"[\[{<][\p{L}\d _.\-]{0,40}(?i:\b(?:name|nom|prénom|prenom|first|last|surname))"
                                r"[\p{L}\d _.\-]{0,40}[\]}>]")
# A form's example of what to write (« Nom / Prénom : ______ (ex. : Jean DUPONT) », « [e.g. John Smith] »).
_EXAMPLE_OPENING = regex.compile(r"[(\[][^\S\n]*(?i:ex\.|e\.g\.|exemple|example|par\s+ex(?:emple|\.)|for\s+example)"
                                 r"[^\S\n]*:?[^\S\n]*$")
_TEMPLATE_SURNAMES = frozenset({"Doe", "Exemple", "Example", "Sample", "Modèle", "Fictif", "Fictive"})
_ROMAN_NUMERAL = regex.compile(r"[IVXLC]{1,6}")


class PersonNameRecognizer(EntityRecognizer):
    """PERSONNE: titles, context words, first names (with a surname, or alone when spaCy agrees)."""

    def __init__(self, ner: SentenceEntities | None = None) -> None:
        """Build the recogniser.

        Args:
            ner: spaCy's entities in a sentence (start, end, label), to settle a first name found
                alone (PER) and to veto a first name of the world list that spaCy calls a place
                ("Paris La Défense"); without it a first name alone is not reported.
        """
        super().__init__(supported_entities=["PERSONNE", PERSON_IF_SPACY], supported_language=LANGUAGE,
                         name="PersonNameRecognizer")
        self._ner = ner
        self._first_names = read_word_list("prenoms.txt")
        self._ambiguous_first_names = read_word_list("prenoms_ambigus.txt")
        self._not_names = read_word_list("non_personnes.txt")
        self._multi_word_terms = tuple(term for term in self._not_names if " " in term)
        self._evidence = FirstNameEvidence(ner)
        self._context_names = ContextNames(self._not_names, ner)

    def load(self) -> None:
        """Nothing to load: the word lists are read in the constructor."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Candidates from each kind of evidence, the best score kept per span.

        A first name alone that only spaCy can settle (« Florence », a city too) is reported as PERSON_IF_SPACY:
        the engine then asks spaCy about all of them at once, with the names no list knows (`settle`).
        """
        lone, to_ask = self._lone_first_names(text)
        to_ask = [word for word in to_ask
                  if not (_is_a_date(text, word.start(), word.end()) or _COMPANY_KIND_AFTER.match(text, word.end()))]
        candidates: dict[tuple[int, int], float] = {}
        for start, end, score in (*self._candidates(text, nlp_artifacts), *lone):
            end = self._end_of_name(text, start, end)
            if end is not None and not _is_a_date(text, start, end):
                start, end = _with_particles(text, start, end)
                candidates[(start, end)] = max(score, candidates.get((start, end), 0.0))
        return [*(RecognizerResult("PERSONNE", start, end, score) for (start, end), score in candidates.items()),
                *(RecognizerResult(PERSON_IF_SPACY, word.start(), word.end(), SPACY_SCORE) for word in to_ask)]

    def settle(self, text: str, asked: list[tuple[int, int]], found: list[tuple[int, int]],
               skipped: list[tuple[int, int]] | None = None) -> list[tuple[str, int, int, float]]:
        """The first names alone spaCy tags as persons, and the names no list knows, from one spaCy batch.

        spaCy's NER is the slowest step and each call pays a fixed cost, so the questions of both rules go
        together. Names no list knows (« Oluwaseun Adebayo ») count only beside other personal data: they
        are asked about when the text holds a finding (`found`, whose spans they skip) or a first name that
        spaCy may confirm; a clean request never pays for them. The runs inside `skipped` (a business's address,
        reported by no one) are no one's name either.
        """
        if self._ner is None or not (asked or found):
            return []
        sentences = [sentence_around(text, start) for start, _ in asked]
        runs, windows = self._unknown_name_windows(text, [*found, *(skipped or ())])
        batch = self._ner.many([sentence.group() for sentence in sentences] + [text[a:b] for a, b in windows])
        names = []
        for (start, end), sentence, entities in zip(asked, sentences, batch, strict=False):
            if any(label in ("PER", "PERSON") and sentence.start() + begin <= start < sentence.start() + stop
                   for begin, stop, label in entities):
                names += self._trimmed(text, "PERSONNE", start, end, SPACY_SCORE)
        if not (found or names):
            return []  # no finding besides them: names no list knows stay unreported
        for start, end, score in _persons_in_windows(runs, windows, batch[len(asked):]):
            names += self._trimmed(text, PERSON_IF_PERSONAL, start, end, score)
        return names

    def _trimmed(self, text: str, kind: str, start: int, end: int, score: float) -> list[tuple[str, int, int, float]]:
        """The span as analyze() keeps a candidate: trailing non-name words cut, particles included."""
        end_of_name = self._end_of_name(text, start, end)
        return [] if end_of_name is None else [(kind, *_with_particles(text, start, end_of_name), score)]

    def other_occurrences(self, text: str, names: list[tuple[int, int]]) -> list[tuple[str, int, int, float]]:
        """Every other place where a word of a name found in the text appears.

        « Attendees: Hiroshi Tanaka, … » then « Hiroshi's wife is expecting twins »: once the text shows who
        Hiroshi is, each mention of him is masked. Words of the language (« Blanc » of « Marie Blanc ») and
        words under three letters are left alone; a capitalised name is sought capitalised, in any case.
        """
        wanted = {word.group().lower() for start, end in names for word in _NAME_WORD_ONLY.finditer(text, start, end)
                  if len(word.group()) >= 3 and not self._is_vocabulary(word.group())}
        if not wanted:
            return []
        # One pass over the words of the text (a pattern per name word would be compiled for every text).
        return [("PERSONNE", *match.span(), FIRST_NAME_SCORE) for match in _ANY_WORD.finditer(text)
                if match.group()[0].isupper() and match.group().lower() in wanted
                and not any(start <= match.start() < end for start, end in names)]

    def _candidates(self, text: str, nlp_artifacts: NlpArtifacts | None):
        for match in _AFTER_TITLE.finditer(text):
            yield (*match.span("name"), TITLE_SCORE)
        for match in _AFTER_CONTEXT.finditer(text):
            yield (*match.span("name"), CONTEXT_SCORE)
        for match in _AFTER_ROLE_LABEL.finditer(text):
            if not _GENERIC_LABEL_SENTENCE.match(match.group()) or not _LOWER_WORD_AFTER.match(text, match.end()):
                yield (*match.span("name"), CONTEXT_SCORE)
        for match in _SPEAKER.finditer(text):
            yield (*match.span("name"), CONTEXT_SCORE)
        yield from self._logins(text)
        yield from self._signed_after_closing(text)
        for match in _MENTION.finditer(text):
            name = match.group("name")
            if name in self._first_names or self._evidence.is_world_first_name(name):
                yield (*match.span("name"), CONTEXT_SCORE)
        for match in _KEYED_NAME.finditer(text):
            yield (*match.span("name"), CONTEXT_SCORE)
        for match in _NAME_RUN.finditer(text, overlapped=True):
            first = match.group("name").split()[0]
            if first in self._first_names:
                yield (*match.span("name"), FIRST_NAME_SCORE)
        if _BIRTH_WORD.search(text):  # the pattern tries every capitalised word: only when a birth is said
            for match in _BEFORE_BIRTH.finditer(text):
                yield (*match.span("name"), CONTEXT_SCORE)
        for match in _SURNAME_COMMA_FIRST.finditer(text):
            surname = match.group("surname").split()
            # a particle makes it a surname (« de Jong »: « jong » is also a Dutch word)
            first = match.group("first")
            if ((first in self._first_names or self._evidence.is_world_first_name(first))
                    and (len(surname) > 1 or not self._is_vocabulary(surname[0]))):
                yield (*match.span(), FIRST_NAME_SCORE)
        if _MARRIED_WORD.search(text):
            for match in _MARRIED_NAME.finditer(text):
                yield (*match.span("name"), CONTEXT_SCORE)
        for match in _SURNAME_FIRST.finditer(text, overlapped=True):
            first = match.group("first")
            # a world first name after an elided surname (« N'DIAYE Moussa »): the apostrophe makes it a surname
            elided = match.group("surname")[1:2] in ("'", "’")
            known = first in self._first_names or (elided and self._evidence.is_world_first_name(first))
            if known and match.group("surname").title() not in self._not_names:
                yield (*match.span(), FIRST_NAME_SCORE)
        for match in _LOWER_AFTER_TITLE.finditer(text):
            yield (*match.span("name"), TITLE_SCORE)
        for pattern in (_HYPHENATED_INITIALS, _INITIALS_AFTER_TITLE):
            for match in pattern.finditer(text):
                yield (*match.span("name"), TITLE_SCORE)
        for table in tables(text):
            yield from self._table_candidates(text, table)
        for start, end in self._evidence.spans(text):
            yield start, end, FIRST_NAME_SCORE
        for start, end in self._context_names.spans(text):
            # The first names' score: where a first-name rule sees a longer name ("Mathis Le Goff"), it wins.
            yield start, end, FIRST_NAME_SCORE
        yield from self._people_lists(text)
        for match in _POSSESSIVE_NAME.finditer(text):
            if match.group("name") in self._first_names or match.group("name") in self._evidence.world:
                yield (*match.span("name"), FIRST_NAME_SCORE)

    def _signed_after_closing(self, text: str):
        """A name signing a message after a closing word (« Merci, Inès », « … merci. mélanie c. »)."""
        for match in _CLOSING_COMMA_NAME.finditer(text):
            if not self._is_vocabulary(match.group("name")):
                yield (*match.span("name"), CONTEXT_SCORE)
        for match in _CLOSING_LOWER_NAME.finditer(text):
            if match.group("first").capitalize() in self._first_names:
                yield (*match.span("name"), CONTEXT_SCORE)

    def _logins(self, text: str):
        """Lower-case speakers, logins (« m.dubois », « jpark » after its key, a home folder), « Sophie_Vidal »."""
        speakers = list(_LOWER_SPEAKER.finditer(text))
        turns = Counter(match.group("name") for match in speakers)
        for match in speakers:
            name = match.group("name")
            if name in _LOG_WORDS:
                continue
            if self._evidence.is_lower_first_name(name) or (turns[name] > 1 and not self._is_vocabulary(name)):
                yield (*match.span("name"), CONTEXT_SCORE)
        for match in _INITIAL_DOT_SURNAME.finditer(text):
            if (not self._is_vocabulary(match.group("surname"))
                    and _LOGIN_CUE_BEFORE.search(text, max(0, match.start() - 40), match.start())):
                yield (*match.span("name"), CONTEXT_SCORE)
        folders = _HOME_FOLDER.finditer(text) if "\\" in text or "/home/" in text or "/Users/" in text else ()
        for match in (*_LOGIN_AFTER_KEY.finditer(text), *folders):
            name = match.group("name")
            if (name.lower() not in _SYSTEM_ACCOUNTS and not _SERVICE_ACCOUNT.search(name)
                    and not self._is_vocabulary(name) and not name.isupper()):
                yield (*match.span("name"), CONTEXT_SCORE)
        if "_" in text:
            for match in _UNDERSCORE_NAME.finditer(text):
                first = match.group("first")
                if ((first in self._first_names or self._evidence.is_world_first_name(first))
                        and self._evidence.looks_like_a_surname(match.group("surname"))):
                    yield (*match.span(), FIRST_NAME_SCORE)

    def _unknown_name_windows(self, text: str, found: list[tuple[int, int]]):
        """Names no list knows (« Oluwaseun Adebayo », « Xu Jiahui »): the runs to ask spaCy about, and their windows.

        Two or three capitalised words outside the findings, one at least no word of a language or of the GMP
        vocabulary (« Bonnes Pratiques », « Personne Qualifiée » are words); spaCy reads the words around each
        (`_window`), and the person it tags there is kept with the particles it includes (`_persons_in_windows`).
        """
        runs, windows = [], []
        for match in _NAME_RUN.finditer(text):
            if any(start <= match.start() and match.end() <= end for start, end in found):
                continue
            if all(self._is_vocabulary(word) for word in match.group("name").split()):
                continue
            runs.append(match)
            windows.append(_window(text, sentence_around(text, match.start()).span(), match.span()))
        return runs, windows

    def _is_vocabulary(self, word: str) -> bool:
        lower = word.lower()
        return (lower in common_words() or french_lexicon().is_word(lower) or word in self._not_names
                or word.title() in self._not_names)

    def _table_candidates(self, text: str, table: Table):
        """Cells of a name column, and a first-name cell with the surname cell beside it."""
        name_columns = {i for i, title in enumerate(table.header) if _NAME_HEADER.match(title.strip(" *_"))}
        names_only = {i for i, title in enumerate(table.header) if _PERSON_NAME_HEADER.match(title.strip(" *_"))}
        for number, row in enumerate(table.rows):
            for column, (start, end) in enumerate(row):
                if number and column in name_columns and _NAME_CELL.fullmatch(text, start, end):
                    yield start, end, TABLE_SCORE
                elif number and column in names_only and _ANY_CASE_NAME_CELL.fullmatch(text, start, end):
                    yield start, end, TABLE_SCORE
                if text[start:end] in self._first_names:
                    yield start, end, TABLE_SCORE
                    # "FAURE;Mathieu" or "Mathieu;Faure": the surname is the cell before, else the one after.
                    beside = [row[i] for i in (column - 1, column + 1) if 0 <= i < len(row)]
                    surname = next((cell for cell in beside if self._is_name_cell(text, *cell)), None)
                    if surname:
                        yield *surname, TABLE_SCORE

    def _is_name_cell(self, text: str, start: int, end: int) -> bool:
        word = text[start:end]
        return _NAME_WORD_ONLY.fullmatch(word) is not None and word.title() not in self._not_names

    def _lone_first_names(self, text: str) -> tuple[list[tuple[int, int, float]], list]:
        """A known first name alone: a person, unless it is also a word or a place ("Claire", "Florence").

        Returns the names settled here (start, end, score), and the words only spaCy's PER tag on their
        sentence can settle, which the engine asks about in one batch (`settle`).
        """
        direct, to_ask = [], []
        for word in _NAME_WORD_ONLY.finditer(text):
            curated = word.group() in self._first_names
            world = self._evidence.is_world_first_name(word.group())
            if not (curated or word.group() in self._evidence.world):
                continue
            if _FOLLOWED_BY_NAME_WORD.match(text, word.end()):
                continue  # "Jean Dupont" is found by the first-name rules, without spaCy
            if not curated and _PRECEDED_BY_NAME_WORD.search(text, max(0, word.start() - 40), word.start()):
                continue  # "boulevard Anatole France": the run rules judged the whole name
            if self._person_cue(text, word, curated):
                direct.append((*word.span(), FIRST_NAME_SCORE))
            elif not (curated or world):
                continue  # a first name that is also a French word (« Greg », « Olive ») needs one of those cues
            # A first name of the world list alone may be a city ("à Nancy", "Sydney"): spaCy settles it.
            elif curated and (word.group() not in self._ambiguous_first_names
                              or _ADDRESSING_BEFORE.search(text, max(0, word.start() - 20), word.start())):
                direct.append((*word.span(), FIRST_NAME_SCORE))
            elif self._ner is not None:
                to_ask.append(word)
        return direct, to_ask

    def _person_cue(self, text: str, word, curated: bool) -> bool:
        """Whether the words around a first name alone make it someone (`_PERSON_AFTER`, `_PERSON_BEFORE`)."""
        if not curated and word.group() not in self._evidence.world:
            return False
        start, end = word.span()
        if _PERSON_AFTER.match(text, end) or _PERSON_BEFORE.search(text, max(0, start - 20), start):
            return True
        if _COLON_AFTER.match(text, end) and _PREPOSITION_BEFORE.search(text, max(0, start - 6), start):
            return True
        if _PERCENT_AFTER.match(text, end):
            line = text[text.rfind("\n", 0, start) + 1 : (text.find("\n", end) + 1 or len(text) + 1) - 1]
            if _RAISE_WORDS.search(line):
                return True  # « augmentations validées : Nicolas 2,5 %, Fanny 3 % »: someone's rise
        return bool(_COMMA_AFTER.match(text, end) and _MESSAGE_START_BEFORE.search(text, max(0, start - 3), start))

    def _people_lists(self, text: str):
        """The items of a list of people (« Attendees: … », « Diffusion : … ») that are names, not words."""
        for people in _PEOPLE_LIST.finditer(text):
            items = people.group("items")
            for item in _LIST_ITEM.finditer(items):
                name = item.group("name")
                if not all(self._is_vocabulary(word) for word in name.split()):
                    offset = people.start("items")
                    yield offset + item.start("name"), offset + item.end("name"), CONTEXT_SCORE

    def _end_of_name(self, text: str, start: int, end: int) -> int | None:
        """Where the name ends once trailing non-name words are cut ("Dupont Directeur"); None if no name."""
        if self._inside_known_term(text, start, end):
            return None
        if _EPONYM_BEFORE.search(text, max(0, start - 30), start):
            return None
        if _SAINT_BEFORE.search(text, max(0, start - 40), start):
            return None
        low, high = start - BIBLIOGRAPHY_WINDOW, end + BIBLIOGRAPHY_WINDOW
        if any(low <= first and last <= high for first, last in bibliography_references(text)):
            return None
        if any(first <= start < last for first, last in public_figure_sentences(text)):
            return None
        if _HOUSE_NUMBER_AFTER.match(text, end):
            return None
        if _EXAMPLE_OPENING.search(text, max(0, start - 24), start):
            return None
        if "[" in text or "{" in text or "<" in text:
            fields = _TEMPLATE_FIELD.finditer(text, max(0, start - 42), min(len(text), end + 42))
            if any(field.start() < start and end < field.end() for field in fields):
                return None
        name_end = None
        for word in _NAME_WORD_ONLY.finditer(text, start, end):
            value = word.group()
            if value in _TEMPLATE_SURNAMES:
                return None  # « John Doe », « Jean Exemple »: a form's example, nobody
            if _COMPANY_KIND_WORD.fullmatch(value):
                return None  # « Vernier Pharma today announced … »: a company named after its founder
            if value in self._not_names or value.title() in self._not_names or _ROMAN_NUMERAL.fullmatch(value):
                break
            name_end = word.end()
        if name_end is not None and _COMPANY_KIND_AFTER.match(text, name_end):
            return None  # the same company, its founder's name proposed alone
        initial = _TRAILING_INITIAL.match(text, name_end) if name_end is not None else None
        if initial and initial.end() <= end:
            name_end = initial.end()
        if name_end is None and _WHOLE_INITIALS.fullmatch(text[start:end]):
            return end  # « J.-P. M. »: only the initials rules propose such a span
        if name_end is None and text[start:end].islower():
            return end  # "mme lefebvre": only the lower-case rule proposes such a span
        return name_end

    def _inside_known_term(self, text: str, start: int, end: int) -> bool:
        """Whether the candidate overlaps a multi-word non-name ("Pierre" of "Pierre Fabre")."""
        return any(position < end and stop > start for position, stop in term_occurrences(text, self._multi_word_terms))


@lru_cache(maxsize=64)
def term_occurrences(text: str, terms: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Every (start, end) of every term in the text, overlapping ones included: one scan a text, not one a candidate.

    Each of a request's twenty-odd name candidates searched its own window for each term; the occurrences found once
    answer the same question (`_inside_known_term`: one overlapping the candidate).
    """
    return tuple(span for term in terms for span in occurrences(text, term))


@lru_cache(maxsize=64)
def bibliography_references(text: str) -> tuple[tuple[int, int], ...]:
    """Where the text cites a book or a paper (« ISBN », « et al. »): one scan a text, not one a name candidate.

    Each candidate searched the 80 characters around it; a reference lying within them answers the same (the
    pattern's literals cannot overlap one another, and nothing after them is looked at).
    """
    return tuple(match.span() for match in _BIBLIOGRAPHY.finditer(text))


@lru_cache(maxsize=64)
def public_figure_sentences(text: str) -> tuple[tuple[int, int], ...]:
    """The sentences (`sentence_around`) that speak of the history of a science or of a Nobel prize: one scan a text."""
    spans = []
    for cue in _PUBLIC_FIGURES.finditer(text):
        sentence = sentence_around(text, cue.start())
        if cue.end() <= sentence.end():
            spans.append(sentence.span())
    return tuple(spans)


def _persons_in_windows(runs: list, windows: list[tuple[int, int]], batch: list[list[tuple[int, int, str]]]):
    """(start, end, score) of each run spaCy tags as a person in its window, stretched to what it tagged."""
    for match, (window_start, _), entities in zip(runs, windows, batch, strict=True):
        for start, end, label in entities:
            start, end = window_start + start, window_start + end
            if label in ("PER", "PERSON") and start < match.end() and end > match.start():
                yield min(start, match.start()), max(end, match.end()), SPACY_SCORE


def _window(text: str, sentence: tuple[int, int], run: tuple[int, int]) -> tuple[int, int]:
    """The words around a run inside its sentence (NER_REACH characters each side, cut at a blank).

    spaCy's cost grows with the text it reads; a few words each side are enough to tell a person.
    """
    start, end = max(sentence[0], run[0] - NER_REACH), min(sentence[1], run[1] + NER_REACH)
    if start > sentence[0]:
        blank = text.find(" ", start, run[0])
        start = blank + 1 if blank != -1 else run[0]
    if end < sentence[1]:
        blank = text.rfind(" ", run[1], end)
        end = blank if blank != -1 else run[1]
    return start, end


def _with_particles(text: str, start: int, end: int) -> tuple[int, int]:
    """A name stretched over its surname's particles (« Ludovic de la Tour », « DE KERGUELEN Hélène »)."""
    tail = _PARTICLE_TAIL.match(text, end)
    while tail:
        end = tail.end()
        tail = _PARTICLE_TAIL.match(text, end)
    before = _CAPITAL_PARTICLES_BEFORE.search(text, max(0, start - 10), start)
    if before and text[start:end].split()[0].isupper():
        start = before.start()
    return start, end
