"""Explicit signals of the deliverable a request asks for, and the text the router should look at.

A request mixes an instruction ("traduis en anglais", "write the URS") with material (a quoted
sentence, pasted code, an e-mail). The label follows the instruction, so quoted material and code
blocks are set aside before embedding and before the keyword signals are read; the signals are
also read on the first words alone, where the deliverable is usually named.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

# Material, not instruction: «...», "...", “...”, '...' opened after a space (a French apostrophe
# never is), and fenced code blocks.
_QUOTED = re.compile(r"«[^»]*»|\"[^\"\n]*\"|“[^”]*”|(?<=[\s:(])'[^'\n]{8,}'(?=[\s.,;:!?)]|$)")
_CODE_FENCE = re.compile(r"```.*?(```|$)", re.DOTALL)
# A deliverable the user rules out (« sans le traduire », "no validation protocol, just the code") is
# not asked for: the negator and the words up to that deliverable are dropped. Only deliverables are
# listed, so « sans préavis » or « sans toucher aux valeurs » stay as they are.
_NEGATOR = (
    r"\b(?:sans|pas(?: de| d'| besoin de| la peine de| question de)?|ne \w+ pas(?: de| d')?|au lieu de|plut[oô]t que"
    r"(?: de)?|no need to|not|no|without|don't|do not|instead of|rather than)\b"
)
# An elided article may come first (« pas l'URS »); mails and messages are deliverables too (« pas besoin d'un
# mail »), and a code language after a ruled-out code is ruled out with it (« pas le code VBA »).
_RULED_OUT = (
    r"(?:[ld]['’]\s*)?(?:tradu|translat|(?:re)?cherch|search|googl|en ligne|online|internet|web\b|protocol"
    r"|proc[ée]dure|sop\b"
    r"|r[ée]sum|summar|script|code\b|clause|contrat|contract|validation|urs\b|e-?mail|mail\b|courriel|message"
    r"|macro|vba\b|python\b|sql\b|reformul|rephras|reword"
    r"|publi|r[ée]cent|actualit)[\w'-]*"
)
# Up to three words between the negator and the deliverable, never across "but" (« mais du code »).
_WORDS = r"(?:(?!(?:mais|but|juste|just|only|seulement|plut[oô]t|rather)\b)[^\s,.;:!?«»]+\s+){0,3}?"
_NEGATED = re.compile(
    rf"(?:{_NEGATOR}\s*{_WORDS}|\bne\s+(?:(?:la|le|les|me|te|lui|leur|l['’])\s*)?(?=tradu|cherch)){_RULED_OUT}(?:\s+{_WORDS}{_RULED_OUT})*(?:\s+pas\b)?",
    re.IGNORECASE,
)
# A deliverable left for later is not the one asked for now: « avant de réécrire la procédure, dis-moi... »
# (the clause before the comma), « la SOP viendra après », "the contract will be drafted later by legal"
# (the deliverable and its deferral). « au plus tard » and "no later than" are deadlines, not deferrals.
_BEFORE = re.compile(
    r"\b(?:avant (?:de|d['’])|before (?:\w+ing|i|we|you)\b)[^,;:.?!]{0,80}[,;]"
    # « pour l'accord qualité que nous préparons, ... », "we are about to draft a procedure; first, ..."
    r"|^[^,;:.?!]{0,80}\b(?:que (?:nous|je) (?:pr[ée]par|r[ée]dige|[ée]cri|mett)\w*"
    r"|qu'on (?:pr[ée]pare|r[ée]dige|[ée]crit)"
    r"|(?:we|i) (?:are|am|'re|'m) (?:about|going) to|(?:nous sommes|je suis) sur le point de)[^,;:.?!]{0,80}[,;]"
    # the purpose named first (« pour notre plan de validation, il me faut un script ... »): what it is for
    r"|^(?:pour|for) (?:notre|nos|votre|vos|our|your)\b[^,;:.?!]{0,60},",
    re.IGNORECASE,
)
_OTHER = rf"(?:(?!{_RULED_OUT})[^;.?!])"  # a character that does not start another deliverable
_SELF_MADE = (
    r"\b(?:je|j'|nous|on|i|we)\b[^,;.?!]{0,20}?\b(?:fer\w*|fai[st]|[ée]cri\w*|r[ée]dig\w*|envo\w*|enverr\w*"
    r"|pr[ée]par\w*|charge|occupe|write|draft|do|handle|send|prepare)\b"
)
_MYSELF = r"\b(?:moi-m[eê]me|nous-m[eê]mes|myself|ourselves)\b"
_DEFERRED = re.compile(
    rf"{_RULED_OUT}[^,;.?!]{{0,60}}?\b(?:viendr\w*|suivr\w*|ser(?:a|ont)|fer(?:a|ai|ons)|will|comes?|is for)\b"
    r"[^,;.?!]{0,40}?(?:\bapr[eè]s\b|\bensuite\b|(?<!\bau )\bplus tard\b|\blater\b(?! than)|\bafterwards\b"
    r"|\bs[eé]par[eé]ment\b|\bseparately\b|\bdans un second temps\b|\bpar le juridique\b|\bby legal\b)"
    # a deliverable the user keeps for themselves (« le mail, je le ferai moi-même », "I'll send the e-mail
    # myself"): made by them, not used ("just the code, I'll run it myself" asks for the code); no other
    # deliverable in between
    rf"|{_RULED_OUT}{_OTHER}{{0,40}}?{_SELF_MADE}{_OTHER}{{0,20}}?{_MYSELF}"
    rf"|{_SELF_MADE}{_OTHER}{{0,20}}?{_RULED_OUT}{_OTHER}{{0,20}}?{_MYSELF}",
    re.IGNORECASE,
)
# What comes before a change of mind (« fais-moi un mail... non en fait, c'est la clause qu'il me faut », "write
# the e-mail, actually no, ...") or before the step wanted first (« je rédige la SOP, mais avant ça dis-moi ... »,
# "we're drafting the URS but first, ...") is not the ask: everything up to the last such turn is dropped.
_CHANGE_OF_MIND = re.compile(
    r"^.*(?:\b(?:non,? en fait|en fait,? non|enfin non|ou plut[oô]t non|non,? attends?|no,? actually|actually,? no"
    r"|scratch that|on second thought)\b"
    r"|\b(?:mais|but) (?:avant (?:[cç]a|cela|tout)|d['’]abord|first|before that)\b)[\s,.;:!…]*",
    re.IGNORECASE | re.DOTALL,
)
# The guide itself ruled out (« pas besoin du guide BPF », "not the GMP guide - I mean the news"): what is wanted
# lies outside it. Only an article may sit between: "not covered by the guide" is a question on the guide.
_NOT_THE_GUIDE = re.compile(
    r"\b(?:pas besoin (?:du|des|de la|de l')|pas (?:le|la|les)|sans (?:le|la|les)|au lieu (?:du|des|de la)"
    r"|plut[oô]t que (?:le|la|les)|not (?:the|a)|no need for (?:the|a)|rather than (?:the|a)|instead of (?:the|a))"
    r"\s+(?:guide(?: (?:des )?(?:bpf|gmp))?|(?:eu )?(?:bpf|gmp)(?: guide)?|texte de 2019|2019 guide)\b",
    re.IGNORECASE,
)
# A document handed over to be summed up is material, not the deliverable: « résume ce contrat pour la direction »,
# "summarise this supply agreement for my manager" ask for a summary (the text is kept, the document word is not).
_SUMMARISED_DOCUMENT = re.compile(
    r"\b(?:r[ée]sum\w*|summari[sz]e|summarize|sum up|synth[ée]tis\w*|the gist of|boil)(?:-(?:moi|nous|le|la|les))?"
    r"\s+(?:(?:moi|nous|me|us|down)\s+)?(?:this|these|that|ce|cet|cette|ces)\s+(?:[\w'’-]+\s+){0,2}?"
    r"(?P<document>contrats?|contracts?|agreements?|accords?|clauses?|avenants?|ndas?|proc[ée]dures?|sops?"
    r"|protocoles?|protocols?|urs)\b",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
# The documents among the ruled-out deliverables (not the verbs), and the elided article before one.
_RULED_OUT_DOCUMENT = re.compile(
    r"(?:\b[ld]['’]\s*)?\b(?:protocol|proc[ée]dure|sop\b|script|code\b|clause|contrat|contract|validation|urs\b"
    r"|e-?mail|mail\b|courriel|message|macro|vba\b|python\b|sql\b)[\w'-]*",
    re.IGNORECASE,
)
_ELIDED = re.compile(r"^[ld]['’]\s*")
HEAD_WORDS = 10
# Where the deliverable is named when context comes first ("the script is ready; I now need the
# protocol"): the words after the last request verb.
_ASK = re.compile(
    r"\b(redige\w*|ecri[st]\w*|draft|write|cree\w*|create|prepare\w*|propose\w*|fais|faire|make|tradui\w*"
    r"|translate|cherche\w*|search|trouve\w*|find|donne\w*|give|il me faut|il faut|j'ai besoin d'?u?n?e?|i need"
    r"|we need|nous faut|besoin de|dis[- ]moi|tell me|explique\w*|explain|turn|transforme\w*|convert\w*"
    r"|regarde\w*|verifie\w*|check|reecri\w*|rewrite|integre\w*|integrate|incorpor\w*|applique\w*|apply|build"
    r"|implement\w*|produi[st]\w*|produire|produce|provide|fournis|sors-moi"
    # « juste savoir ce que dit l'annexe », "I want to know what changed": knowing is the ask
    r"|(?:veux|voudrais|aimerais|juste|seulement|want to|like to|need to|just) (?:savoir|know|comprendre|understand))\b"
)
# Details in brackets (« (rôles, quand faire une analyse de risque) ») are not where the ask is made.
_BRACKETS = re.compile(r"\([^()]*\)")
# "turn the chapter 8 rules into our recall procedure": what the material is turned into is the deliverable.
_TURN_INTO = re.compile(r"^(?:turn|transforme\w*|convert\w*)\b[^.?!]{0,120}?\b(?:into|en)\b")
# Longer texts are cut (start and end kept): the instruction sits at one end, and the embedding
# time grows with length.
MAX_ROUTING_CHARS = 600

# French names agree with their noun (« la version anglaise », « les versions allemandes »).
_LANGUAGES = (
    r"anglais(?:es?)?|francais(?:es?)?|allemand(?:es?|s)?|espagnol(?:es?|s)?|italien(?:nes?|s)?|portugais(?:es?)?"
    r"|neerlandais(?:es?)?|polonais(?:es?)?|japonais(?:es?)?|chinois(?:es?)?|roumain(?:es?|s)?|"
    r"english|french|german|spanish|italian|portuguese|dutch|polish|japanese|chinese|romanian"
)

# One regex per signal, read on accent-free lower-case text. Names are feature names.
SIGNALS: dict[str, str] = {
    "translate": r"\btradu\w*|\btranslat\w*|\bmets?(-le|-la|-les)? (ca |cela )?en (" + _LANGUAGES + r")"
    r"|\bversions? (en )?(" + _LANGUAGES + r")|comment dit-on|how do (you|i) say|\bmean in (" + _LANGUAGES + r")"
    r"|\brender .* in (" + _LANGUAGES + r")|\b(" + _LANGUAGES + r") (version|translation)\b"
    # "put this Teams message into French", « passe ce mail en anglais »: a text moved into a language
    r"|\b(put|turn|convert|change|switch)\b[^.?!]{0,60}?\binto (" + _LANGUAGES + r")"
    r"|\b(mets|mettre|mettez|passe|passer|passez|bascule\w*|transpose\w*)\b[^.?!]{0,60}? en (" + _LANGUAGES + r")",
    "language": r"\b(en|in|into|vers l'|from|de l') ?(" + _LANGUAGES + r")\b",
    # « annexe 11 clause 1 » is a paragraph of a text, not a contract clause
    "clause": r"(?<!\d )\bclauses?\b|\bavenant\b|\bamendment\b|\bindemnif\w*",
    "contract": r"\bcontra(t|ts|ct|cts|ctual|ctuel\w*)\b(?! (manufactur|lab|research|giver|acceptor"
    r"|organi[sz]|packag|test|develop|service provider))|\bagreement\b|\baccord (de|qualite|cadre)\b|\bcontrat cadre\b"
    r"|\bndas?\b|\bcdas?\b|\bnon-disclosure\b",
    "validation_doc": r"\b(urs|iq|oq|pq|fs|gamp ?5?|csa|csv)\b|cas de tests?|test cases?|test scripts?|test plan"
    r"|scripts? (de tests?|pour tester)\b|etapes de test|test steps"
    r"|plan de (validation|tests?|requalification)|validation (plan|protocol|report|strategy|package)"
    r"|protocole de (validation|qualification|tests?)|rapport (de|de synthese de) validation"
    r"|dossier de validation|matrice de tracabilite|traceability matrix|statut valide|etat valide"
    r"|validated (state|status)|non-regression|requalification|specification (fonctionnelle|de configuration)"
    r"|protocole de verification|verification protocol|criteres d'acceptation|acceptance criteria"
    r"|(configuration|functional|user) (specification|requirements?)|besoins utilisateurs?|criticite gxp"
    r"|cahier des charges|documents? de validation|validation (documents?|deliverables?|evidence)|livrables?"
    r"|deliverables|impact sur l'etat|impact assessment|evaluation d'impact|revue periodique|periodic review"
    r"|mise en production|go-live|(passer|passe|mise|mettre) en prod\w*|\bpreuves?\b|\bevidence\b"
    r"|\brevalid\w*|\bre-?test\w*|analyse d'impact",
    "risk_analysis": r"\bamdec\b|\bfmea\b|analyse de risques?|risk (assessment|analysis)",
    "procedure": r"\bsops?\b|\bprocedures?\b|mode operatoire|instructions? de travail|work instructions?"
    r"|\bcheck-?list\b|\bformulaire\b|\bform\b|\blogigramme\b|\bflowchart\b|\bconsignes?\b|pas a pas"
    r"|etape par etape|step[- ]by[- ]step|\bfiche (reflexe|pratique|de poste)|guide utilisateur|user guide"
    r"|mode d'emploi|marche a suivre|conduite a tenir|\bproc\b|\binstructions\b|what to do (when|if)\b"
    r"|que faire (quand|si|en cas)\b|\b(one-page|short|quick|petit) guide\b|\bguide (pratique|rapide)\b",
    "regulatory_ref": r"\b(bpf|gmp|eu gmp|gxp)\b|\bannexe? \d+|\bich q\d+|\b21 cfr\b|\bpart 11\b|\bchapitre \d"
    r"|\bchapter \d|\bld(?: |\. ?)\d+\b|\bpartie (i|ii|iii|iv)\b|\bpart (i|ii|iii|iv)\b|\beudralex\b|\bpic/s\b",
    "regulatory_ask": r"\bque (dit|disent|prevoi\w*|exige\w*|recommand\w*|demande\w*)\b|\bselon (l|le|la|les)\b"
    r"|\bd'apres (l|le|la|les)\b|\baccording to\b|\bwhat does .* (say|require|mean)|\bunder (eu )?gmp\b"
    r"|\bper eu gmp\b|\bimpose\w*\b|\bexigences?\b|\bmandatory\b|\bconforme\b|\bcompliant\b|\bobligatoire\b"
    r"|\bacceptable\b|\ballowed\b|\bautorise\w*\b|\brequire[sd]?\b|\bexpect(s|ed)?\b"
    r"|\bcite\w* (les |the )?(paragraphes?|paragraphs?|references?)\b|\bavec (les )?references\b"
    r"|\bwith (the )?references\b|\b(ecrit|written|stated) (dans|in) (le|the) (texte|text|guide)\b"
    r"|\bdans le texte\b|\bin the text\b|\b(impos|exig|prevoi|demand|recommand)\w*-(t-)?(il|elle|ils|elles|on)\b"
    r"|\bque (le|la|les|l') ?\w+( [\w.]+)? (dit|disent|exige\w*|prevoi\w*|demande\w*|recommand\w*|impose\w*)\b",
    "web": r"\b(cherche\w*|recherche\w*|search\w*|look (it )?up|trouve\w*|find|veille)\b",
    "web_place": r"\ben ligne\b|\bonline\b|\binternet\b|\bweb\b"
    r"|\bsur (le )?(web|internet|google|le site|leur site)\b|\bwebsites?\b|\bsites? (web|officiel|internet)\b"
    r"|\bgoogle\b"
    # an authority's or a supplier's own site (« le site de la FDA »; not a manufacturing « site de Lyon »)
    r"|\bsites? (?:internet |web )?(?:de l'|de la |du |des |d')(?:fda|ema|ansm|mhra|oms|who|ich|edqm|hpra|has|pic/s"
    r"|commission|agence|agency|autorite|fournisseur|fabricant|editeur|constructeur)\b"
    r"|\bpubmed\b|\bliens?\b|\blinks?\b|\bsur (son|leur|leurs|le) site\b|\b(its|their) website\b|\bblogs?\b"
    r"|\bforums?\b|\bwebinars?\b|\bconference talks?\b|\barticles? de presse\b|\bpresse\b|\bpress\b"
    r"|\bjournaux\b|\bnewspapers?\b|\blinkedin\b|\breseaux sociaux\b|\bsocial media\b",
    "recent": r"\bactualites?\b|\bnews\b|\blatest\b|\bdernier\w*\b|\brecent\w*\b|aujourd'hui|\btoday\w*\b"
    r"|\bcurrent(ly)?\b|\bactuel\w*\b|\bcette annee\b|\bthis (year|month|week)\b|\bce mois\b|\ben vigueur\b"
    r"|\bprochaine?\b|\bupcoming\b|\ba venir\b|\bforecast\b|\bmeteo\b|\bcours de\b|\bexchange rate\b",
    "url": r"https?://|\bwww\.",
    # whether a text was published or changed after the 2019 guide the regulatory agent reads
    # (a year inside a reference such as DEV-2024-117 is not a date)
    "publication": r"(?<![-/])\b20[2-3]\d\b(?![-/]\d)"
    r"|\b(depuis|since|apres|after) 2019\b|\bpublie\w*|\bpublished\b|\breleased?\b"
    r"|\b(a|ont|a-t-(il|elle)|ont-(ils|elles)) (ete )?(mise? a jour|revise\w*)"
    r"|\b(been|was|were|has|have) (updated|revised)\b"
    r"|\bnouvelles? versions?\b|\bnew(er)? versions?\b|\brevision\b|\bconsultation\b|\bdraft guidance\b"
    r"|\bentre\w*(-t-(il|elle))? en (vigueur|application)\b|\bentree en (vigueur|application)\b"
    r"|\b(come|came|comes) into (force|effect)\b|\beffective date\b|\bstatut actuel\b|\bcurrent status\b"
    # a guideline's final status and start date, a vendor's announced end of support
    r"|\bfinali[sz]\w*|\bversion (finale|definitive)\b|\bfinal version\b|\bis [^.?!]{0,30}\bfinal\b ?\?"
    r"|\bwhat'?s new\b|\bquoi de neuf\b|\bnouveautes\b|\bfrom when\b|\ba partir de quand\b|\bdepuis quand\b"
    r"|\bdate d'application\b|\bapplies from\b|\bfin de (support|vie|commercialisation)\b"
    r"|\bend[- ]of[- ](support|life|sale)\b|\beol\b|\bdiscontinu\w*|\bannounced\b|\bannonce(r|s|e|es)? (que|la|le|l')"
    r"|\b(a|ont|a-t-(il|elle)|ont-(ils|elles)) (deja )?annonce\b",
    # facts of the outside world: offers, prices, who sells or organises what
    "market": r"\btarifs?\b|\bprix publics?\b|\bprices?\b|\bpricing\b|\borganismes?\b|\bproviders?\b|\bediteurs?\b"
    r"|\bqui (propose|vend|fabrique|organise)\w*|\bwho (offers|sells|makes|organises|organizes)\b|\bquels? (acteurs"
    r"|organismes|editeurs|fournisseurs)\b|\bwhich (companies|vendors|suppliers|providers)\b"
    r"|(?<!ne )\bmarche\b(?! a suivre| pas)|\bmarket\b"
    r"|\bhoraires? d'ouverture\b|\bopening hours\b"
    r"|\bsalons?\b|\bcongres\b|\bconferences?\b|\bcoordonnees\b|\bcontact details\b|\bformations? (gamp|gmp|bpf"
    r"|proposees|disponibles|inter-?entreprises)|\btraining (courses?|sessions?) (on|in|offered|available)",
    # material handed over with the request (« voici leurs disponibilités : ... »): work on it, not a search
    "given_material": r"\bvoici\b|\bci-dessous\b|\bci-joint\w*|\bci-apres\b|\bhere (is|are)\b|\bbelow\b"
    r"|\battached\b|\bpasted\b|\bje (te )?colle\b|\bsuivant(e|s|es)? ?:|\bfollowing ?:",
    # a requirement to carry into one of our own documents: the document, not the requirement, is asked for
    "apply": r"\b(comment|how (do|should|can|to|would)( we| i)?) (l'|les |le |la |that |this |it )?(integr\w*"
    r"|appliqu\w*|apply|build|implement\w*|mettre en (oeuvre|place)|decliner|reprendre|reflect|put|transpos\w*"
    r"|translat\w* (it|that|this) into|traduire (ca|cela|les?|la) dans)\b|\b(dans|into|in) (notre|nos|our) (own )?\w+",
    # a computerised system, the object of validation deliverables and of user SOPs
    "system": r"\b(lims|eln|erp|mes|ged|edms|eqms|qms|sap|empower|chromeleon|veeva|trackwise|labware|scada|sdms|cds"
    r"|tableur|spreadsheet|logiciel|software|saas|cloud|progiciel|base de donnees|database|audit trails?"
    r"|pistes? d'audit|signatures? electroniques?|electronic signatures?|systemes? informatises?"
    r"|computeri[sz]ed systems?)\b",
    "code_language": r"\b(python|sql|vba|macro|powershell|bash|shell|javascript|typescript|regex|regexp|pandas"
    r"|matplotlib|numpy|flask|pytest|power query|power automate|json|yaml|html|css|java|r code|code r)\b"
    r"|\b(xlookup|vlookup|recherchev|recherchex|index/equiv|sumifs?|somme\.si\w*|nb\.si\w*|countifs?)\b"
    r"|\bformule excel\b|\bexcel formula\b|\bformula\b|\bformule\b|\bscripts?\b|\brequete\b|\bquery\b"
    r"|\bregular expressions?\b|\bexpressions? reguli[eè]res?\b"
    r"|\bone-liner\b|\bsnippet\b|\bcode\b|\brefactor\w*|\bunit ?tests?\b|\btests? unitaires?\b"
    # SQL dialects and database objects to write: « un trigger PostgreSQL », "a stored procedure"
    r"|\b(postgres\w*|mysql|sqlite|mariadb|oracle sql|t-sql|pl/sql|plpgsql|dax)\b|\bstored procedures?\b"
    r"|\bprocedures? stockees?\b|\b(sql|database|db) (triggers?|views?)\b|\btriggers? (sql|that|which|qui|pour)\b"
    # a function to write, not a function of a system (« la fonction audit trail du LIMS » is validation)
    r"|\b(fonction|function)s? (qui|that|which|to|pour)\b|\b(une|a) (fonction|function)\b",
    "code_syntax": r"\bselect .* from\b|\bdef \w+\(|\bimport \w+|=\w+\(|\bsub \w+\(|\w+\[['\"]\w+['\"]\]"
    r"|\bfor \w+ in\b|\w+\.\w+\(",
    "code_error": r"traceback|\berror\b|\berreur\b"
    r"|(?<!sans )(?<!without )(?<!no )\bexceptions?\b|\w+error\b|\bplante\b|\bcrash\w*|\bbug\w*"
    r"|\becho(ue|ue)\b|\bne marche pas\b|\bdoesn't work\b|\bnothing happens\b|\bn'affiche rien\b",
    "draft": r"\b(redige\w*|ecri\w*|draft\w*|write|rewrite|cree\w*|create|prepare\w*|propose\w*|genere\w*|produce"
    r"|fais|make|adapt\w*|update|mets a jour)\b",
    "communication": r"\b(e-?mail|mail|message"
    r"|teams|linkedin|newsletter|discours|(?<!\ba )(?<!\bont )(?<!-il )(?<!-elle )annonce|speech|post|note|mot"
    r"|lettre|letter|courrier)\b"
    r"|\bresum\w*|\bsummar\w*|\breformul\w*|\bproofread\w*|\bsynthese\b|\bidees?\b|\bideas?\b|\bconseils?\b"
    r"|\btips?\b|\bpresentation\b|\bpresenter\b|\bpresent (it|this|our|the|my)\b|\bpitch\b|\bslides?\b"
    r"|\bdiaporama\b|\bpowerpoint\b",
    "language_help": r"\busage\b|\bnuances?\b|\bgrammai\w*|\bgrammar\b|\borthograph\w*|\bspelling\b|\bfautes?\b"
    r"|\btypos?\b|\bconjug\w*|\bprononc\w*|\bpronounc\w*|\bpoliment\b|\bpolitely\b|\btutoie\w*|\bvouvoie\w*"
    r"|\b(lequel|laquelle|which one|which) (est|is) (correct|juste|le bon|la bonne|right|proper)\b"
    r"|\bcapitali[sz]\w*|\bmajuscules?\b|\bminuscules?\b|\bponctuation\b|\bpunctuation\b|\bhyphen\w*"
    r"|\btrait d'union\b"
    r"|\bidioms?\b|\bmon (anglais|francais|allemand|espagnol)\b|\bmy (english|french|german|spanish)\b"
    # a choice between two quoted words (« issue » ou « release » ?), what a native speaker would say
    r"|» (ou|or|vs\.?|versus) «|\bnative speakers?\b|\bsounds? (right|natural|better|more natural)\b"
    r"|\bsonne\w* (mieux|bien|naturel)|\banglophones?\b|\bfrancophones?\b|\bsynonym\w*|\bpluriel\b|\bplural\b"
    r"|\bon dit\b|\bdirai[st]\b"
    # the sense of an expression someone used (« ça veut dire qu'on repousse ? »), not a text to translate
    r"|\b(ca|cela|ce qui) veut (dire|bien dire)\b|\bveut dire quoi\b|\bsignifie quoi\b|\bidiomati\w*"
    r"|\bexpression (idiomatique|anglaise|francaise|familiere)\b|\b(does|did) (it|that|this|he|she|they) (mean|imply)\b"
    r"|\bwhat did (he|she|they) mean\b",
    "chitchat": r"^(bonjour|salut|hello|hi|merci|thanks|thank you|ok|super|parfait|coucou)\b|\bqui es-tu\b"
    r"|\bwho are you\b|\bc'est parfait\b",
}
_COMPILED = {name: re.compile(pattern) for name, pattern in SIGNALS.items()}
# Whole-text signals, first-words signals, and facts about the raw text.
RAW_FLAGS = ("code_fence", "traceback", "quoted_material", "short")
# The first action verb of the instruction: what is done comes before what it is done to (« traduis les
# messages d'erreur de ce script » translates; « écris un script qui traduit » writes code). Only the
# earliest of these fires.
LEAD_ACTIONS: dict[str, str] = {
    "translate": r"\btradui\w*|\btraduction\b|\btranslat\w*|\bcomment dit-on\b|\bhow do (you|i) say\b"
    r"|\b(" + _LANGUAGES + r") version\b|\bversions? (en )?(" + _LANGUAGES + r")\b",
    "search": r"\b(re)?cherche\w*|\bsearch\w*|\blook (it )?up\b|\bveille\b|\bregarde sur\b|\btrouve\w* (sur|en ligne)\b"
    r"|\bfind (online|on the web|on the internet)\b"
    r"|\b(verifie|check) (en ligne|online|sur)\b",
    "rework": r"\breformul\w*|\brewrite\b|\breword\b|\bproofread\w*|\bresum\w*|\bsummari[sz]\w*"
    r"|\bcorrige\w* (l'orthographe|les fautes)"
    r"|\bameliore\w*|\bimprove\b|\bsimplifi\w*|\bmake (this|it|the) \w+ (sound|more|less)\b",
    "draft": r"\bredige\w*|\becri(s|re|vez|vons)\b|\bwrite\b|\bdraft\b|\bprepare\w*|\bcree\w*|\bcreate\b"
    r"|\belabore\w*|\bbuild\b|\bpropose\w*|\bgenere\w*|\bgenerate\b|\bproduce\b",
    "fix": r"\bdebug\w*|\bfix\b|\bcorrige\w* (ce|cette|mon|ma|la formule|le code|le script)\b|\boptimi[sz]\w*"
    r"|\brefactor\w*|\bpourquoi (mon|ma|ce|cette)\b|\bwhy (does|do|is) (my|this|the)\b",
    "question": r"^(que|qu'|quel\w*|est-ce|what|which|is|are|does|do|can|faut-il|peut-on|doit-on|combien|how many"
    r"|how long|when|quand)\b|\bque (dit|disent|prevoi\w*|exige\w*)\b|\bwhat does\b"
    r"|\b\w+-(t-)?(il|elle|ils|elles|on)\b",  # « les BPF imposent-elles ... ? »
}
_LEAD = {name: re.compile(pattern) for name, pattern in LEAD_ACTIONS.items()}
# A subject pronoun just before a verb (never "you", « tu », « vous »: « peux-tu rédiger » asks).
_NARRATED = re.compile(r"(?:^|(?<=[\s,;]))(?:(?:on|je|nous|il|elle|ils|elles|we|i|they|he|she) |j')")
FEATURE_NAMES: tuple[str, ...] = (
    *SIGNALS, *(f"head_{name}" for name in SIGNALS), *(f"ask_{name}" for name in SIGNALS), *RAW_FLAGS,
    *(f"lead_{name}" for name in LEAD_ACTIONS),
)


def normalise(text: str) -> str:
    """Lower-case, accent-free, single-spaced text with plain apostrophes."""
    text = text.replace("’", "'").replace("‘", "'")
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", plain).strip()


def instruction_text(text: str) -> str:
    """The request with quoted material and code blocks replaced by a placeholder, ruled-out deliverables dropped."""
    without_code = _CODE_FENCE.sub(" [code] ", text)
    without_quotes = _QUOTED.sub(" « … » ", without_code)
    kept = _DEFERRED.sub(" ", _BEFORE.sub(" ", _CHANGE_OF_MIND.sub(" ", without_quotes)))
    kept = _SUMMARISED_DOCUMENT.sub(
        lambda match: match.group(0)[: match.start("document") - match.start()] + "document", kept)
    ruled_out = {
        _ELIDED.sub("", word.group(0).lower())
        for negation in _NEGATED.finditer(kept)
        for word in _RULED_OUT_DOCUMENT.finditer(negation.group(0))
    }
    kept = _NOT_THE_GUIDE.sub(" ", _NEGATED.sub(" ", kept))
    # A document ruled out anywhere is not asked for elsewhere either: « on prépare l'URS du LIMS ... je ne
    # veux pas l'URS, juste ce que dit l'annexe » names the URS as context. Verbs are kept (« ne traduis pas
    # les noms, traduis le reste »).
    for word in ruled_out:
        kept = re.sub(rf"(?:\b[ld]['’]\s*)?\b{re.escape(word)}\b", " ", kept, flags=re.IGNORECASE)
    return _SPACES.sub(" ", kept).strip()


def routing_text(text: str) -> str:
    """What the embedding model sees: the instruction, cut to a bounded length."""
    instruction = instruction_text(text)
    if len(instruction.split()) < 3:  # the quote was the whole request: keep it
        instruction = _SPACES.sub(" ", text).strip()
    if len(instruction) <= MAX_ROUTING_CHARS:
        return instruction
    head = MAX_ROUTING_CHARS * 2 // 3
    return instruction[:head] + " … " + instruction[-(MAX_ROUTING_CHARS - head) :]


def signal_names(text: str) -> list[str]:
    """The names of the features that fire on `text` (for debugging and tests)."""
    vector = signal_vector(text)
    return [name for name, value in zip(FEATURE_NAMES, vector, strict=True) if value]


def signal_vector(text: str, instruction: str | None = None) -> np.ndarray:
    """Binary features: each signal on the whole instruction, on its first words, raw-text flags.

    Args:
        text: the request.
        instruction: `normalise(instruction_text(text))` when the caller already has it.
    """
    instruction = normalise(instruction_text(text)) if instruction is None else instruction
    head = " ".join(instruction.split()[:HEAD_WORDS])
    asks = list(_ASK.finditer(_BRACKETS.sub(lambda bracket: " " * len(bracket.group(0)), instruction)))
    ask_start = asks[-1].start() if asks else 0
    turned = _TURN_INTO.match(instruction[ask_start:]) if asks else None
    if turned:
        ask_start += turned.end()
    ask = " ".join(instruction[ask_start:].split()[:HEAD_WORDS]) if asks else head
    whole = [bool(regex.search(instruction)) for regex in _COMPILED.values()]
    first = [bool(regex.search(head)) for regex in _COMPILED.values()]
    after_ask = [bool(regex.search(ask)) for regex in _COMPILED.values()]
    flags = [
        "```" in text,
        "traceback (most recent call last)" in text.lower() or bool(re.search(r"^\s+at \S+\(", text, re.M)),
        bool(_QUOTED.search(_CODE_FENCE.sub(" ", text))),
        len(text.split()) <= 4,
    ]
    return np.array(whole + first + after_ask + flags + lead_action(instruction), dtype=np.float32)


def lead_action(instruction: str) -> list[bool]:
    """One-hot over `LEAD_ACTIONS`: the action named first in the (normalised) instruction, if any.

    A verb after its subject (« on prépare l'URS », "we draft our SOPs in Word") tells what is being done,
    not what is asked: it is not an action here.
    """
    narrated = {subject.end() for subject in _NARRATED.finditer(instruction)}
    starts = {}
    for name, regex in _LEAD.items():
        match = next((m for m in regex.finditer(instruction) if m.start() not in narrated), None)
        if match:
            starts[name] = match.start()
    first = min(starts, key=lambda name: starts[name]) if starts else None
    return [name == first for name in LEAD_ACTIONS]
