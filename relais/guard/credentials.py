"""Secrets: passwords, PIN codes, API keys, tokens and passwords inside connection strings.

Known key formats (AWS, GitHub, GitLab, Slack, Stripe, OpenAI, JWT, SendGrid, Azure storage, private
keys, passwords in URLs...) are found by detect-secrets' own detectors, run on each line, beside the provider
prefixes it does not know (Google, Hugging Face, Vault…) and BitLocker recovery keys.
What they cannot see is the password a person types in a sentence ("le mot de passe : Printemps2024!",
"mdp Bl0uson-Vert22", "pwd=Etoile!2025", "my password is Tulip$Garden9"): a keyword, a few words,
then a value. Such a value must look like a secret (a digit or a symbol besides letters, or a long
key), and detect-secrets' heuristics drop templates (`<mot_de_passe>`, `${{ secrets.X }}`) and
indirect references (`os.environ[...]`, `request.headers.get(...)`).
"""

from __future__ import annotations

import regex
from detect_secrets.filters.heuristic import (
    is_prefixed_with_dollar_sign,
    is_sequential_string,
    is_templated_secret,
)
from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import CONFIG_DENYLIST_REGEX_TO_GROUP, KeywordDetector
from detect_secrets.plugins.keyword import DENYLIST as KEYWORD_DENYLIST
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.lexicon import ADJECTIVE, ADVERB, VERB, common_words, french_lexicon
from relais.guard.recognizers import LANGUAGE

FORMAT_SCORE = 0.95
CONTEXT_SCORE = 0.85
_TOKEN_TAIL = regex.compile(r"[A-Za-z0-9_\-.+/=]*")
MIN_GROUP_SECRET = 8  # a shorter capture group is a key's prefix ("ghp"), not the key
LONG_KEY = 16  # a value this long after "clé"/"token" is a key even without digits or symbols

# Every detector of detect-secrets 1.5 but two: IPPublicDetector (an IP address is not a secret) and
# the high-entropy string detectors (hashes, checksums and batch identifiers of GMP texts are random-looking).
_FORMAT_DETECTORS = (
    ArtifactoryDetector(), AWSKeyDetector(), AzureStorageKeyDetector(), BasicAuthDetector(), CloudantDetector(),
    DiscordBotTokenDetector(), GitHubTokenDetector(), GitLabTokenDetector(), IbmCloudIamDetector(),
    IbmCosHmacDetector(), JwtTokenDetector(), MailchimpDetector(), NpmDetector(), OpenAIDetector(),
    PrivateKeyDetector(), PypiTokenDetector(), SendGridDetector(), SlackDetector(), SoftlayerDetector(),
    SquareOAuthDetector(), StripeDetector(), TelegramBotTokenDetector(), TwilioKeyDetector(),
)
# Formats detect-secrets 1.5 does not know, from each provider's documentation of its key prefixes:
# Google API keys (AIza), Google OAuth (ya29., GOCSPX-), Stripe test and restricted keys, OpenAI project
# and Anthropic keys (sk-proj-, sk-ant-), Hugging Face (hf_), GitHub fine-grained (github_pat_),
# DigitalOcean (dop_v1_), Shopify (shpat_), Mailgun (key-), Azure SAS signatures (sig=), and the body
# of a PEM private key block (detect-secrets sees only its BEGIN line).
_PROVIDER_FORMATS = regex.compile(
    r"(?<![\w-])(?:AIza[0-9A-Za-z_\-]{35}|ya29\.[0-9A-Za-z_\-]{20,}|GOCSPX-[0-9A-Za-z_\-]{20,}"
    r"|(?:sk|rk)_(?:test|live)_[0-9A-Za-z]{10,99}|sk-(?:proj-|ant-(?:api\d\d-)?|svcacct-)?[0-9A-Za-z_\-]{20,}"
    r"|hf_[0-9A-Za-z]{30,}|github_pat_[0-9A-Za-z_]{22,}|dop_v1_[0-9a-f]{64}|shp(?:at|ss|ca|pa)_[0-9a-fA-F]{32}"
    r"|key-[0-9a-f]{32}"
    # HashiCorp Vault's service, batch and recovery tokens (« hvs. », « hvb. », « hvr. », Vault 1.10 and later),
    # which would otherwise read as a dotted identifier
    r"|hv[sbr]\.[0-9A-Za-z_\-]{24,}"
    # a BitLocker recovery password: 8 blocks of 6 digits. Its blocks are multiples of 11, but a key retyped with
    # a slip is still the key's holder's, and nothing else in a request has this shape.
    r"|(?<!\d-)\d{6}(?:-\d{6}){7}(?!-?\d)"
    # a SendGrid API key: « SG. », an id, « . », a secret
    r"|SG\.[0-9A-Za-z_\-]{16,32}\.[0-9A-Za-z_\-]{30,64})(?![\w-])"
    # a Microsoft Teams / Office 365 incoming webhook: whoever has the URL posts in the channel
    r"|https://[\w-]+\.webhook\.office\.com/webhookb2/[^\s\"'<>]+|https://outlook\.office(?:365)?\.com/webhook/[^\s\"'<>]+"
    r"|[?&]sig=(?P<signature>[0-9A-Za-z%/+=]{20,})"
    r"|-----BEGIN[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----.*?-----END[A-Z ]{0,30}PRIVATE KEY(?: BLOCK)?-----",
    regex.DOTALL,
)
_KEYWORDS = KeywordDetector()
_KEYWORD_LINE = regex.compile(rf"^.*(?i:{'|'.join(KEYWORD_DENYLIST)}).*$", regex.MULTILINE)

PIN_WORDS = (r"codes?\s+(?:pin|d['’]accès|secrets?|confidentiels?|de\s+déverrouillage|d['’]entrée|"
              r"(?:de\s+(?:la\s+)?|du\s+|de\s+l['’]|d['’])?(?:porte|cadenas|coffre|vestiaire|casier|portail|badge|"
              r"barrière|barriere|garage|grille|interphone|parking|immeuble|bâtiment|"
              r"alarme|armoire|local|digicode)|de\s+désarmement)|"
              # « la combinaison du casier », « lock combination »
              r"combinaisons?\s+(?:du|de\s+la|de\s+l['’]|d['’])\s*(?:casier|cadenas|coffre|vestiaire|armoire)|"
              r"(?:locker|safe|padlock|lock)\s+combinations?|combinations?\s+(?:of|for|to)\s+the\s+(?:locker|safe|padlock)|"
              r"pin(?:\s+code)?|digicodes?|door\s+codes?|keypad\s+codes?|(?:alarm\s+)?(?:disarm|alarm)\s+codes?|"
              # a card's security code, a one-time backup code
              r"security\s+codes?|codes?\s+de\s+sécurité|cvc|cvv2?|cryptogrammes?(?:\s+visuels?)?|"
              r"codes?\s+de\s+secours|backup\s+codes?|"
              # a one-time code (« Code OTP de secours : 552 019 »), a door's code after the door
              # (« vestiaires hommes code 1957B », « locker 12 code 4471 »)
              r"codes?\s+(?:otp|2fa|mfa|totp|sms)(?:\s+de\s+secours)?|"
              r"(?:vestiaires?|casiers?|portes?|portails?|lockers?|doors?|gates?)(?:[^\S\n]+[\w-]+){0,2}?[^\S\n]+codes?")
SECRET_WORDS = (
    r"mots?\s+de\s+passe|mdp|passwords?|passwd|passphrase|pwd|pass"
    r"|cl(?:é|e)s?\s+(?:d['’]\s*)?(?:api|accès|secrètes?|privées?|wpa2?|wep|wi-?fi|de\s+sécurité\s+réseau)"
    r"|codes?\s+(?:wi-?fi|wpa2?)|api[\s_-]?keys?|secret[\s_-]?keys?"
    r"|\w*(?:token|secret|apikey|api_key|access_key|accountkey|account_key|private_key|password|passwd|pwd|"
    r"securestring)\w*"
    r"|(?:snmp\s+)?community(?:\s+strings?)?(?=\s*(?:is|est|:|=))"  # SNMP's shared secret
    r"|\w+_pass\b|\w+_pw\b"  # SFTP_PASS, DB_PASS, bind_pw
    # one-time codes and seeds (« codes de secours », « recovery codes », « clé TOTP »)
    r"|codes?\s+de\s+(?:secours|récupération|recuperation)|(?:recovery|backup)\s+codes?|"
    r"(?:clé|cle|secret|seed|key)\s+(?:totp|2fa|mfa|otp)|(?:totp|2fa|mfa|otp)\s+(?:seed|secret|key)"
    r"|jetons?|secrets?"
)
# What introduces the value after the keyword's words: a verb ("est", "c'est", "devient") or a sign;
# a sign may be glued to the last word ("password for the vault: ...").
_VERB = (r"(?:(?:c['’])?(?i:est|sont|sera|reste|devient|vaut|était|étaient|is|was|are|will\s+be|"
         r"changée?\s+en|remplacée?\s+par|passée?\s+à|mis\s+à|réinitialisée?\s+(?:en|à|avec)|"
         r"modifiée?\s+en|redéfinie?\s+(?:en|à)|changed\s+to|set\s+to|reset\s+to|"
         # « mot de passe temporaire positionné à … », « fixé à », « défini sur »
         r"positionnée?\s+(?:à|sur)|fixée?\s+à|définie?\s+(?:à|sur)|set\s+as)\b"
         r"|(?i:c)(?=[^\S\n]))")  # « c » is how a chat types « c'est » (« mon mdp c Chaton2024* »)
_VERB_OR_SIGN = (r"(?:(?:" + _VERB + r"|(?::|=|=>|:=)(?:[^\S\n]*" + _VERB + r")?)"
                 r"(?:[^\S\n]+(?i:désormais|maintenant|dorénavant|toujours|encore|actuellement|provisoirement|"
                 r"temporairement|now|currently|still|simply|just|bien)\b)?)")
# keyword, then on the same line up to 7 words ending with a verb or a sign, or the value at once.
_IN_CONTEXT = regex.compile(
    rf"(?i:(?<![\w])(?P<keyword>{PIN_WORDS}|{SECRET_WORDS})(?![\w]))"
    r"(?:[^\S\n]*(?:[^\s:=]+[^\S\n]+){0,10}?(?:[^\s:=]+(?=:[^\S\n]))?" + _VERB_OR_SIGN + r"|[^\S\n]*[:=]|[^\S\n]+)"
    r"[^\S\n]*[\"'«`]?[^\S\n]*(?P<value>[^\s\"'«»`,;<>]{4,})"
)
# Where a keyword starts (`_IN_CONTEXT`, `_RIGHT_AFTER_KEYWORD` and `_DIRECTLY_AFTER_KEYWORD` start with one).
_KEYWORD_START = regex.compile(rf"(?i:(?<![\w])(?:{PIN_WORDS}|{SECRET_WORDS})(?![\w]))")
# The value right after its keyword (« clé WPA2 « Lab-Guest-7731!xy » : rédige… »): the pattern above would
# take the words up to the later colon and try the word after it instead.
_RIGHT_AFTER_KEYWORD = regex.compile(
    rf"(?i:(?<![\w])(?P<keyword>{PIN_WORDS}|{SECRET_WORDS})(?![\w]))"
    r"(?:[^\S\n]+[^\s\"'«`“:=]+){0,3}[^\S\n]*[\"'«`“][^\S\n]*(?P<value>[^\s\"'«»`“”,;<>]{4,})"
)
# The value right after its keyword, with no verb or sign (« mot de passe Cafe-au-lait_77, et le PIN c'est… »,
# « reset my password to Krakow!Spring25 »): `_IN_CONTEXT` would look for the later verb and take what follows it.
_DIRECTLY_AFTER_KEYWORD = regex.compile(
    rf"(?i:(?<![\w])(?P<keyword>{SECRET_WORDS})(?![\w]))"
    r"(?:[^\S\n]+(?i:temporaire|provisoire|temporary|initial|initiale|par\s+défaut|default|admin|root))?"
    r"(?:[^\S\n]+(?i:to|en|à))?[^\S\n]+(?P<value>[^\s\"'«»`,;<>]{6,})"
)
# The words that name a password itself (not a key or a token), in the patterns around a password's value.
_PASSWORD_WORDS = r"mots?\s+de\s+passe|mdp|passwords?|passphrase|pwd|passwd"
# A password that is a plain word ("le mot de passe est papillon", "password: 'sunflower'") is still
# a password when it is quoted, or when it ends the clause right after the keyword's verb or sign and
# is no common word, adjective, verb or adverb ("le mot de passe est expiré" is a state, not a value).
_PLAIN_WORD_PASSWORD = regex.compile(
    rf"(?i:(?<![\w])(?:{_PASSWORD_WORDS})(?![\w]))"
    r"(?:[^\S\n]+(?:[^\s:=]+[^\S\n]+){0,4}?)?(?:[^\S\n]*" + _VERB_OR_SIGN + r")[^\S\n]*"
    r"(?:[\"'«`“‘][^\S\n]*(?P<quoted>[^\s\"'«»`“”‘’]{4,})[^\S\n]*[\"'»`”’]"
    r"|(?P<word>\p{L}{6,})(?=[^\S\n]*(?:[.;,!\n]|$)))"
)
# A PIN is only 4 to 8 digits, so its keyword may stand further away ("le code PIN du coffre à clés
# de la salle blanche B2 a changé : 4471"); that far, a year ("... : 2026") is taken for a year.
_PIN_IN_CONTEXT = regex.compile(
    rf"(?i:(?<![\w])(?P<keyword>{PIN_WORDS})(?![\w]))"
    r"[^\S\n]*(?:[^\s:=]+[^\S\n]+){0,14}?(?:[^\s:=]+(?=:[^\S\n]))?" + _VERB_OR_SIGN +
    r"[^\S\n]*[\"'«`]?[^\S\n]*(?!(?:19|20)\d\d(?!\d))"
    r"(?P<value>\d{1,3}(?:-\d{1,3}){2,5}"
    # typed spaced (« 7 3 9 1 5 », « 8842 1937 »)
    r"|\d(?:[^\S\n]\d){3,7}(?![^\S\n]*\d)|\d{4}[^\S\n]\d{4}(?![^\S\n]*\d)"
    r"|\d{4,8}|(?=[A-Z]*\d)[0-9A-Z]{4,8}[#*]?"
    # a keypad's code with its keys (« the door code changed to 91#48*2 »)
    r"|(?=[\d#*]*[#*])(?=(?:[#*]*\d){3})[\d#*]{4,10})(?![\w#*-]|[.,]\d)"
)
# « code portail 2580A », « digicode 4821B », « la combinaison 12-40-07 »: the value right after its keyword, no verb.
# A bare « combinaison » is also a cleanroom garment: after it, only a dashed combination counts.
_PIN_RIGHT_AFTER = regex.compile(
    rf"(?i:(?<![\w])(?:{PIN_WORDS})(?![\w]))[^\S\n]*:?[^\S\n]*(?!(?:19|20)\d\d(?![\w]))"
    r"(?P<value>\d{1,3}(?:-\d{1,3}){2,5}"
    # typed spaced (« 7 3 9 1 5 », « 8842 1937 »)
    r"|\d(?:[^\S\n]\d){3,7}(?![^\S\n]*\d)|\d{4}[^\S\n]\d{4}(?![^\S\n]*\d)|\d{3}[^\S\n]\d{3}(?![^\S\n]*\d)"
    r"|\d{4,8}|(?=[A-Z]*\d)[0-9A-Z]{4,8}[#*]?)(?![\w#*-]|[.,]\d)"
    # a card's security code is three or four digits, and its label says what they are (« cryptogramme 318 »)
    # « crypto », its short form, only before three digits (« crypto 2024 » is a year of cryptocurrencies)
    r"|(?P<value>(?i:(?<![\w])(?:cryptogrammes?(?:\s+visuels?)?|cvc2?|cvv2?|security\s+code|code\s+de\s+sécurité|"
    r"crypto(?=[^\S\n]*:?[^\S\n]*\d{3}(?!\d)))"
    r"[^\S\n]*:?[^\S\n]*)\d{3,4})(?![\w])"
    r"|(?i:(?<![\w])(?:combinaisons?|combinations?)(?![\w]))[^\S\n]*:?[^\S\n]*(?P<value>\d{1,3}(?:-\d{1,3}){2,5})(?![\w-])"
)
# A test card's security code is published with it (« la carte de test 4111 1111 1111 1111, CVC 123 »).
_TEST_CARD = regex.compile(r"(?i:\b(?:cartes?\s+de\s+test|test\s+cards?|sandbox|bac\s+à\s+sable|mode\s+test)\b)")
# "le compte chromeleon_admin / Lavande2025", "login: svc_lims / Kx7!pluie": an account, a slash, its password.
_ACCOUNT_SLASH_PASSWORD = regex.compile(
    r"(?i:\b(?:comptes?|logins?|identifiants?|utilisateurs?|user(?:name)?s?|accounts?|credentials?|id)\b)"
    r"[^\S\n]*:?[^\S\n]*"
    r"(?P<user>[\w.@\\-]{2,})[^\S\n]*/[^\S\n]*(?P<value>[^\s,;\"'«»`]{6,})"
)
# "svc_stab / Tz!94kLq#2mB": an account, a slash and a value shaped like a strong password (both cases,
# a digit and a symbol), with no keyword needed.
_USER_SLASH_STRONG_PASSWORD = regex.compile(
    r"(?<![\w/])(?P<user>[\w.@\\-]{2,})[^\S\n]*/[^\S\n]*"
    r"(?P<value>(?=[^\s,;\"'«»`]*\d)(?=[^\s,;\"'«»`]*[a-z])(?=[^\s,;\"'«»`]*[A-Z])"
    r"(?=[^\s,;\"'«»`]*[!#$%&*+?@^~])[^\s,;\"'«»`/]{8,})"
)
# « le réseau interne c'est Kp9$vR2w!mQz », « j'ai mis le nouveau Lotus2024!! »: with no keyword near it, a word
# shaped like a strong password (both cases, a digit, a symbol inside it or two symbols) is one; a word closed
# by one « ! » (« Relais2025! ») is a slogan, an address or a path is none.
_TOKEN = r"[^\s\"'«»`“”‘’,;<>()\[\]{}/\\=]"
_STRONG_PASSWORD_SHAPE = regex.compile(
    rf"(?<![^\s\"'«`“‘(:])(?=(?:{_TOKEN})*\d)(?=(?:{_TOKEN})*\p{{Ll}})(?=(?:{_TOKEN})*\p{{Lu}})"
    rf"(?P<value>(?:{_TOKEN}){{8,40}})(?![^\s\"'»`”’,;.)])"
)
_PASSWORD_SYMBOL = regex.compile(r"[!#$%&*?^~@]")
_EMAIL_OR_DOTTED = regex.compile(r"@[\w-]+\.\w|\.\w+\.|\.[A-Za-z]{2,4}$")  # an address, a host, a file name


def _has_password_shape(value: str) -> bool:
    """A symbol inside the value, or two symbols; not an e-mail address, a host or a file name."""
    symbols = _PASSWORD_SYMBOL.findall(value)
    inside = _PASSWORD_SYMBOL.search(value[:-1]) is not None
    return (inside or len(symbols) >= 2) and not _EMAIL_OR_DOTTED.search(value)


# "j'ai mis Girafe#17 comme mot de passe", "using Tulip$9 as the password": the value before its keyword.
_VALUE_THEN_KEYWORD = regex.compile(
    r"(?<![^\s\"'«`(])(?P<value>[^\s\"'«»`,;<>]{6,})[\"'»`]?[^\S\n]+(?i:comme|as|en\s+tant\s+que|pour)[^\S\n]+"
    r"(?i:(?:mon|ma|le|la|ton|votre|notre|nouveau|nouvelle|my|the|a|new|our)[^\S\n]+){0,2}"
    rf"(?i:{_PASSWORD_WORDS}|code\s+pin|pin)(?![\w])"
)
# « « Bienvenue2Lyon! » c assez solide comme mdp ? »: a quoted value, then its keyword a few words on.
_QUOTED_THEN_KEYWORD = regex.compile(
    r"[\"'«`“‘][^\S\n]*(?P<value>[^\s\"'«»`“”‘’]{6,})[^\S\n]*[\"'»`”’]"
    r"(?:[^\S\n]+[^\s\"«»`“”]+){0,6}?[^\S\n]+"
    rf"(?i:{_PASSWORD_WORDS})(?![\w])"
)
# « codes de secours : 4821-7730, 9916-0254, 3358-1197 »: each code of the list.
_ONE_CODE_PATTERN = r"[0-9A-Za-z]{3,6}(?:[- ][0-9A-Za-z]{3,6})?"
# The codes may also come one per line under the label (« … Microsoft 365 :⏎4821-9937⏎1056-2284 »).
_CODE_LIST = regex.compile(
    r"(?i:codes?\s+de\s+(?:secours|récupération|recuperation)|(?:recovery|backup)\s+codes?)"
    # a label, a few words and a colon, or a verb (« recovery codes are 4f7k-92mq, 8x3p-1rza »)
    r"(?:[^\n:]{0,80}:|[^\S\n]+(?i:are|were|sont|:))"
    rf"(?P<codes>\s*{_ONE_CODE_PATTERN}(?:[^\S\n]*[,;][^\S\n]*{_ONE_CODE_PATTERN}"
    # codes on one line separated by spaces, each with a digit (« 8821-4406 3390-1175 6042-9983 »)
    rf"|[^\S\n]+(?=[0-9A-Za-z-]*\d){_ONE_CODE_PATTERN}"
    rf"|[^\S\n]*\n\s*{_ONE_CODE_PATTERN}(?=[^\S\n]*(?:\n|$)))*)"
)
_ONE_CODE = regex.compile(_ONE_CODE_PATTERN)
# « le wifi invités c'est ORV-GUEST et la clé c'est Tournesol#Lab-7781 »: a bare « clé » or « key » given a value.
_BARE_KEY = regex.compile(r"(?i:\b(?:la\s+|the\s+)(?:clé|cle|key)\s+(?:c['’]est|est|is)\s+)"
                          r"[\"'«`“]?[^\S\n]*(?P<value>[^\s\"'«»`“”,;<>]{6,})")
# « la passphrase … c'est « le chat de Mamie mange 3 sardines » »: a quoted phrase given as a passphrase.
_QUOTED_PASSPHRASE = regex.compile(
    r"(?i:passphrase|phrase\s+de\s+passe|phrase\s+secrète|mot\s+de\s+passe|password)[^\n«“\"]{0,60}?"
    r"(?:c['’]est|est|is|:)[^\S\n]*[«“\"][^\S\n]*(?P<value>[^«»“”\"\n]{8,80}?)[^\S\n]*[»”\"]"
)
# A constant's name or a default that documentation tells to replace.
_PLACEHOLDER = regex.compile(r"[A-Z]+(?:_[A-Z]+)+|(?i:change[_-]?me|change[_-]?it|replace[_-]?me|your[_-]?[a-z_-]+|"
                          # a word that says it is an example, numbered (« example123 », « sample_01 »)
                          r"(?:example|exemple|sample|dummy|placeholder)[_-]?\d{0,4})")
# « porte B2, le code est 7316A »: a bare « code » is a door's or an alarm's when its sentence speaks of one.
_BARE_CODE = regex.compile(
    r"(?i:\b(?:(?:le|the|son|its)\s+code\s+(?:c['’]est|est|is|:|=)(?:\s+(?:toujours|encore|still|now|maintenant))?|(?:nouveau|new)\s+code\s*:?)\s*)(?P<value>(?=[A-Z]*\d)[0-9A-Z]{4,8}[#*]?)(?![\w#*]|[.,]\d)"
)
_DOOR_WORDS = regex.compile(r"(?i:\b(?:porte|portail|door|gate|accès|access|local|entrée|entrance|alarme|alarm|"
                            r"entrer|enter|salle\s+blanche|cleanroom|clean\s+room|"
                            r"coffre|safe|cadenas|padlock|vestiaire|locker|badge|digicode|keypad)\b)")
# A PostgreSQL password file's line: host:port:database:user:password.
_PGPASS_LINE = regex.compile(r"(?m)^[\w.-]+:(?:\d+|\*):[\w*.-]+:[\w*.@-]+:(?P<value>\S{6,})$")
# Most texts name no password: the two patterns above, which try every word, run only when one does.
_PASSWORD_WORD = regex.compile(r"(?i:passe|mdp|passw|passphrase|pwd|\bpin\b)")
_TRAILING = ".)]:!?`;,"  # a code span's closing backtick (« `password: changeme`; »), no part of a value
# "scheme://user:password@host": BasicAuthDetector refuses a password holding "!" or "$"; this does not.
# Oracle's « user/password@host » (sqlplus, JDBC thin URLs): « mes_app/Pivoine2027@//orasrv:1521/MESPRD ».
_SLASH_PASSWORD_AT = regex.compile(r"(?<![\w/.])[\w.$\-]{2,}/(?P<value>[^\s/@\"'`]{4,})@(?://)?[\w.\-]+")
_URL_PASSWORD = regex.compile(r"(?i:[a-z][a-z0-9+.\-]*://[^\s:/@]+:)(?P<value>[^\s@/]+)@(?P<rest>[^\s\"'`<>]*)")
# « Server=sqlprd01;Database=MES;User Id=mes_rw;Password=…;TrustServerCertificate=True »: a connection string's
# pairs, one of them a password; like a URL with its password, the whole string goes (host, base and account too).
_CONNECTION_STRING = regex.compile(r"(?<![^\s\"'`(:=])[A-Za-z][A-Za-z ]{0,30}=[^;\s\"'`]*"
                                   r"(?:;[A-Za-z][A-Za-z ]{0,30}=[^;\s\"'`]*){2,};?")
# Azure's « AccountKey=… » and « SharedAccessKey=… » are a connection string's password too.
_PASSWORD_PAIR = regex.compile(r"(?i:(?:^|;)[^\S\n]*(?:password|pwd|accountkey|sharedaccesskey)=)(?P<value>[^;\s]+)")
# An HTTP header's credentials (« Authorization: Basic cWFf… », a log's « Authorization: Bearer 8f2c… »): Basic is
# a user and a password in base64, readable by anyone; the scheme goes with them.
_AUTHORIZATION_HEADER = regex.compile(r"(?i:\b(?:proxy-)?authorization[\"']?[^\S\n]*[:=][^\S\n]*[\"']?)"
                                      r"(?P<value>(?i:basic|bearer|token|digest)[^\S\n]+(?P<credentials>[A-Za-z0-9+/=._~-]{8,}))")
# Where a secret is kept, a version pin, or a documentation placeholder (« myPassword », « yourApiKey »).
_PATH_OR_VERSION = regex.compile(r"(?:/|\./|\.\./|~/|[A-Za-z]:\\|[a-z][a-z0-9+.\-]*://)|[\w.\-\[\]]+(?:==|>=|<=|~=|!=)\d"
                                 r"|(?:my|your|the)[A-Z_][A-Za-z_]*;?$"
                                 # a vault or store path (« secret/ci/github »)
                                 r"|[a-z_][a-z0-9_.-]*(?:/[a-z_][a-z0-9_.-]*)+$"
                                 # a secret manager's reference (« vault:secret/data/app#password »,
                                 # « op://vault/item/field », « arn:aws:secretsmanager:… »): where it is, not what
                                 r"|(?i:vault|op|ssm|secretsmanager|keyvault|akv|gcpsm|awssm|sops|doppler|infisical)"
                                 r":(?://)?[\w.\-]+(?:[/#:][\w.\-]+)+$|arn:aws:(?:secretsmanager|ssm):")
_DOTTED_IDENTIFIER = regex.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
# A call or a lookup (« os.environ['X'] », « getenv("DB") », « [REDACTED] »), not a key holding a bracket
# somewhere in its random body (« l28j…(1=*3k… », a Django SECRET_KEY).
_CODE_REFERENCE = regex.compile(r"^\$?(?:[A-Za-z_]\w*\.)*[A-Za-z_]{3,}\w*[(\[{]|^[(\[{]"
                                r"|^(?:None|null|true|false|str|int|bytes)$", regex.IGNORECASE)


# A key in a URL's query (« …/weather?q=Rouen&appid=3f7a91c0d24e8b65a1f09c7d3e2b4a58 », « ?access_token=… »).
_QUERY_SECRET = regex.compile(r"[?&](?i:app_?id|api_?key|key|token|access_?token|auth(?:_?token)?|client_?secret|"
                              r"secret|sig|signature|password|pwd)=(?P<value>[^&\s#\"'<>]{8,})")


class SecretRecognizer(EntityRecognizer):
    """SECRET: detect-secrets' key formats, and secrets given after a keyword in a sentence."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["SECRET"], supported_language=LANGUAGE, name="SecretRecognizer")

    def load(self) -> None:
        """Nothing to load: the detectors are built at import."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Every secret value of the text, each span once with its best score."""
        # Overlapping spans are joined: a detector may see part of a key that a keyword saw whole.
        found = [*self._by_format(text), *self._in_context(text)]
        # a key pasted twice (« … : 3f7a…58 — GET …&appid=3f7a…58 ») is masked wherever it comes back, or redaction
        # would leave its other copy in clear
        found += [(start, start + end - first, score) for first, end, score in found if end - first >= MIN_GROUP_SECRET
                  for start in _positions(text, text[first:end]) if start != first]
        merged: list[list] = []
        for start, end, score in sorted(found):
            if merged and start < merged[-1][1]:
                merged[-1][1], merged[-1][2] = max(end, merged[-1][1]), max(score, merged[-1][2])
            else:
                merged.append([start, end, score])
        return [RecognizerResult("SECRET", start, end, score) for start, end, score in merged
                if not _EXAMPLES_OF_WEAK_PASSWORDS.search(text, max(0, start - EXAMPLES_REACH), start)
                and not _stands_for_a_secret(text, start, end)]

    def _by_format(self, text: str):
        # The format detectors' patterns stay within a line, so one pass over the whole text is
        # enough; the keyword detector reports one match per line and runs only on lines that
        # hold one of its keywords.
        # A format detector's match is a key. Their patterns are read directly (`denylist`):
        # `analyze_string` yields capture groups, which for some formats is only the prefix ("ghp").
        for match in _PROVIDER_FORMATS.finditer(text):
            yield *match.span("signature" if match.group("signature") else 0), FORMAT_SCORE
        if "=" in text:
            for match in _QUERY_SECRET.finditer(text):
                if looks_like_a_secret(match.group("value"), pin=False):
                    yield *match.span("value"), FORMAT_SCORE
        for detector in _FORMAT_DETECTORS:
            for pattern in detector.denylist:
                for match in pattern.finditer(text):
                    start, end = _secret_span(match)
                    if not is_templated_secret(text[start:end]):
                        yield start, end, FORMAT_SCORE
        # A keyword detector's value (the first word after "password:") must still look like a secret.
        values = set()
        for line in _KEYWORD_LINE.findall(text):
            for found in (*_KEYWORDS.analyze_string(line, denylist_regex_to_group=CONFIG_DENYLIST_REGEX_TO_GROUP),
                          *_KEYWORDS.analyze_string(line)):
                value = found.split()[0].rstrip(_TRAILING) if found.split() else ""
                if looks_like_a_secret(value, pin=False):
                    values.add(value)
        for value in values:
            for start in _positions(text, value):
                yield start, start + len(value), FORMAT_SCORE

    def _in_context(self, text: str):
        for match in _URL_PASSWORD.finditer(text):
            if not is_templated_secret(match.group("value")) and not _PLACEHOLDER.fullmatch(match.group("value")):
                # the whole URL: its host, port and base say where the password opens; a format, as sure as a
                # key's (« …:Gr4nite!Bay@db.local » is no e-mail address)
                yield match.start(), match.end("rest") if match.group("rest") else match.end("value"), FORMAT_SCORE
        for match in _CONNECTION_STRING.finditer(text):
            password = _PASSWORD_PAIR.search(match.group())
            if password and looks_like_a_secret(password.group("value"), pin=False):  # not « Password=myPassword »
                yield *match.span(), CONTEXT_SCORE
        for match in _AUTHORIZATION_HEADER.finditer(text):
            if looks_like_a_secret(match.group("credentials"), pin=False):  # not « Bearer <token> », « Basic ${AUTH} »
                yield *match.span("value"), FORMAT_SCORE
        for match in _STRONG_PASSWORD_SHAPE.finditer(text):
            value = match.group("value").rstrip(".:?")
            if _has_password_shape(value) and not is_templated_secret(value):
                yield match.start("value"), match.start("value") + len(value), CONTEXT_SCORE
        for match in _USER_SLASH_STRONG_PASSWORD.finditer(text):
            value = match.group("value").rstrip(_TRAILING)
            if looks_like_a_secret(value, pin=False):
                start = match.start("value")
                yield start, start + len(value), CONTEXT_SCORE
        for match in _SLASH_PASSWORD_AT.finditer(text):
            if looks_like_a_secret(match.group("value"), pin=False):
                yield *match.span("value"), CONTEXT_SCORE
        for match in _PIN_RIGHT_AFTER.finditer(text):
            line = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
            if not (match.group("value")[0].isalpha() and _TEST_CARD.search(line)):  # a test card's code
                yield *match.span("value"), CONTEXT_SCORE
        for match in _PGPASS_LINE.finditer(text):
            yield *match.span("value"), CONTEXT_SCORE
        for match in _BARE_CODE.finditer(text):
            sentence_start = max(text.rfind(".", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
            if _DOOR_WORDS.search(text, sentence_start, match.start()) and not _YEAR.fullmatch(match.group("value")):
                yield *match.span("value"), CONTEXT_SCORE
        if _PASSWORD_WORD.search(text):
            yield from self._plain_or_preceding_passwords(text)
        for match in _CODE_LIST.finditer(text):
            offset = match.start("codes")
            for code in _ONE_CODE.finditer(match.group("codes")):
                if any(char.isdigit() for char in code.group()):
                    yield offset + code.start(), offset + code.end(), CONTEXT_SCORE
        for match in _BARE_KEY.finditer(text):
            value = match.group("value").rstrip(_TRAILING)
            if looks_like_a_secret(value, pin=False):
                yield match.start("value"), match.start("value") + len(value), CONTEXT_SCORE
        for match in _QUOTED_PASSPHRASE.finditer(text):
            if " " in match.group("value").strip() and not is_templated_secret(match.group("value")):
                yield *match.span("value"), CONTEXT_SCORE
        for match in _ACCOUNT_SLASH_PASSWORD.finditer(text):
            value = match.group("value").rstrip(_TRAILING)
            if looks_like_a_secret(value, pin=False):
                start = match.start("value")
                yield start, start + len(value), CONTEXT_SCORE
        yield from self._after_keywords(text)

    @staticmethod
    def _after_keywords(text: str):
        """A value after its keyword (« password: … », « PIN 4821 », « token=… »).

        The four keyword patterns start where a keyword starts: one scan finds those places, and each pattern is
        tried there only (each scan of the whole text cost 0.2-0.7 ms on a 2,000-character request).
        """
        starts = [match.start() for match in _KEYWORD_START.finditer(text, overlapped=True)]
        # a PIN far from its keyword (« le code PIN du coffre … a changé : 4471 »): PIN_WORDS are keywords too
        for match in _non_overlapping(_PIN_IN_CONTEXT, text, starts):
            yield *match.span("value"), CONTEXT_SCORE
        in_context = [match for start in starts if (match := _IN_CONTEXT.match(text, start))]
        for match in (*in_context, *_non_overlapping(_RIGHT_AFTER_KEYWORD, text, starts),
                      *_non_overlapping(_DIRECTLY_AFTER_KEYWORD, text, starts)):
            value = match.group("value").rstrip(_TRAILING)
            pin = _PIN_KEYWORD.fullmatch(match.group("keyword")) is not None
            if value and looks_like_a_secret(value, pin=pin):
                start = match.start("value")
                yield start, start + len(value), CONTEXT_SCORE

    @staticmethod
    def _plain_or_preceding_passwords(text: str):
        """A plain word or a quoted value given as a password, and a value before its keyword."""
        for match in _PLAIN_WORD_PASSWORD.finditer(text):
            if (match.group("quoted") and not is_templated_secret(match.group("quoted"))
                    and not _PLACEHOLDER.fullmatch(match.group("quoted"))):  # password="changeme": a placeholder
                yield *match.span("quoted"), CONTEXT_SCORE
            elif match.group("word") and _is_plain_word_password(match.group("word")):
                yield *match.span("word"), CONTEXT_SCORE
        for match in (*_VALUE_THEN_KEYWORD.finditer(text), *_QUOTED_THEN_KEYWORD.finditer(text)):
            value = match.group("value")
            # a lower-case letter too: « « SOP-IT-004 » fixe la politique de mot de passe » names a document
            if looks_like_a_secret(value, pin=False) and any(char.islower() for char in value):
                yield *match.span("value"), CONTEXT_SCORE


# A password policy's examples of what not to use (« interdiction des mots de passe courants comme « Password123 » »,
# « common passwords such as Summer2024! »): a list everyone knows, nobody's secret. The examples follow the words
# in the same sentence.
EXAMPLES_REACH = 80
_EXAMPLES_OF_WEAK_PASSWORDS = regex.compile(
    r"(?i:\bmots?\s+de\s+passe\s+(?:courants|faibles|interdits|banals|triviaux|trop\s+simples|à\s+(?:éviter|proscrire)|"
    r"les\s+plus\s+(?:courants|utilisés|fréquents))|\b(?:common|weak|banned|forbidden|bad|popular|leaked|guessable)\s+"
    r"passwords?|\bpasswords?\s+to\s+avoid"
    # a policy's examples of what it rejects (« famous examples like … or "P@ssw0rd" are blocked », « found in public
    # breach corpora such as … », « the following patterns are rejected … (e.g. "Vernier2024!") »)
    r"|\b(?:famous|well-known|classic|typical)\s+examples?|\bbreach\s+(?:lists?|corpora|corpus|databases?)|"
    r"\bpatterns?\s+(?:are|is)\s+(?:rejected|blocked|refused|forbidden|banned)|"
    r"\bmotifs?\s+(?:sont\s+)?(?:refusés|rejetés|bloqués|interdits)|"
    # « Exemples à NE PAS utiliser : « Printemps2024! » », « examples to avoid »
    r"\bexemples?\s+à\s+(?:ne\s+pas\s+utiliser|éviter|proscrire|bannir)|\bexamples?\s+(?:to\s+avoid|not\s+to\s+use))"
    # up to the value in the same sentence (a « ! » inside a quoted example, « "Winter2025!" or … », ends none)
    r"(?:[^.!?\n]|[.!?](?=\S|[^\S\n]*[»\"”’']))*$"
)
# What stands for a secret without being one: a masked value (« sk-live-XXXXXXXXXXXXXXXX », « ******** »), a
# container image's content digest (« …@sha256:9f86… »), a reference to a vault (« ${SECRET:lims-api-key} »).
_MASKED = regex.compile(r"(?i:x{6,})|\*{4,}|•{4,}")
_DIGEST = regex.compile(r"@sha256:|(?i:\b(?:sha(?:1|224|256|384|512)|md5)[:=])$")
_VAULT_REFERENCE_BEFORE = regex.compile(r"\$\{[^}\s]*$")
# A vault's path to a secret (« lookup('hashi_vault', 'secret=secret/data/lims:db_password') »): where it is, not it.
_VAULT_PATH = regex.compile(r"(?:^|/)(?:secrets?|kv)(?:/data)?/[\w./-]+(?::[\w-]+)?$")


def _stands_for_a_secret(text: str, start: int, end: int) -> bool:
    value = text[start:end]
    return bool(_MASKED.search(value) or "@sha256:" in value or _VAULT_PATH.search(value)
                or _DIGEST.search(text, max(0, start - 8), start)
                or (value.endswith("}") and _VAULT_REFERENCE_BEFORE.search(text, max(0, start - 40), start)))


# compiled once: a pattern given as a string is looked up in `regex`'s cache at each call, and recompiled when
# the cache (500 patterns, tossed at random when full: the e-mail names' patterns fill it) has dropped it
_YEAR = regex.compile(r"(?:19|20)\d\d")
_PIN_KEYWORD = regex.compile(PIN_WORDS, regex.IGNORECASE)
_PIN_DIGITS = regex.compile(r"\d{4,8}")


def _non_overlapping(pattern: regex.Pattern, text: str, starts: list[int]):
    """What `pattern.finditer(text)` yields, for a pattern that can only match at one of `starts` (ascending)."""
    end = 0
    for start in starts:
        if start >= end and (match := pattern.match(text, start)):
            end = max(match.end(), start + 1)
            yield match


def looks_like_a_secret(value: str, *, pin: bool) -> bool:
    """Whether a value after a keyword is a secret rather than a word, a variable or a placeholder.

    Args:
        value: the candidate, trailing punctuation removed.
        pin: whether the keyword asks for a PIN code (then 4 to 8 digits are enough).

    Returns:
        True for "Printemps2024!", "Bl0uson-Vert22", a 32-character key, "4821" after "code PIN";
        False for "doit", "l'Annexe", "os.environ['X']", "${{ secrets.KEY }}", "<mot_de_passe>".
    """
    if pin and _PIN_DIGITS.fullmatch(value):
        return True
    if len(value) < 6 or is_templated_secret(value) or is_prefixed_with_dollar_sign(value):
        return False
    if _PLACEHOLDER.fullmatch(value.rstrip(",")):
        return False  # « YOUR_API_KEY », « changeme »: what to put there, not what is there
    if _CODE_REFERENCE.search(value) or _DOTTED_IDENTIFIER.fullmatch(value) or is_sequential_string(value):
        return False
    if _PATH_OR_VERSION.match(value):
        return False  # « PASSWORD_FILE=/run/secrets/pg_pw », « pin cryptography==43.0.1 », « myPassword »
    has_letter = any(char.isalpha() for char in value)
    has_digit = any(char.isdigit() for char in value)
    # "_" and "-" join words in constants and placeholders (REPLACE_ME, your-api-key): not symbols.
    has_symbol = any(not char.isalnum() and char not in "'’-_" for char in value)
    if len(value) >= LONG_KEY and any(char.isupper() for char in value) and any(char.islower() for char in value):
        return True
    return has_letter and (has_digit or has_symbol)


def _is_plain_word_password(word: str) -> bool:
    """A word given as a password: no common word, and no French adjective, verb or adverb (a state)."""
    lower = word.lower()
    if _PLACEHOLDER.fullmatch(word):
        return False
    if lower in common_words() or lower in _STATE_WORDS or _PASSWORD_WORD.search(lower):
        return False  # "password=password": a variable named after the keyword
    return not french_lexicon().parts_of_speech(lower) & {ADJECTIVE, VERB, ADVERB}


# English states of a password that Faker's word lists lack.
_STATE_WORDS = frozenset({"required", "expired", "incorrect", "invalid", "changed", "mandatory", "optional",
                          "correct", "missing", "wrong", "blocked", "locked", "reset", "hidden", "encrypted",
                          "hashed", "stored", "needed", "forgotten", "unknown", "compromised", "protected"})


def _secret_span(match) -> tuple[int, int]:
    """The secret inside a detector's match: its capture group when it holds the value, else all of it."""
    if match.re.groups and len(match.group(1) or "") >= MIN_GROUP_SECRET:
        start, end = match.span(1)
    else:
        # Some patterns stop early (a JWT's lazy signature): a key runs to the end of its token.
        start, end = match.span()
        end = _TOKEN_TAIL.match(match.string, end).end()
    value = match.string[start:end]
    return start + len(value) - len(value.lstrip("'\"")), end - len(value) + len(value.rstrip("'\""))


def _positions(text: str, value: str):
    position = text.find(value)
    while position != -1:
        yield position
        position = text.find(value, position + 1)
