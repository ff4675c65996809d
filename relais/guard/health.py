"""Health data about a person (GDPR special category): diagnoses, sick leave, treatments, disability.

A pharma company's texts name diseases all day (indications, SmPCs, study protocols, HR policies),
so a term of `knowledge/guard/sante.txt` is reported only in a sentence that is about someone:
a first or second person ("je", "mon", "ma fille", "my"), a person designated by role ("ma
collègue", "le technicien", "la salariée", "our QA lead"), a title ("Mme", "M."), a known first
name, or a name spaCy tags. "Chez les patients diabétiques" stays clean; "Hugo est diabétique"
does not. In a sentence that names a product or a study (a batch, a notice, a protocol), a bare
"je" is not enough ("je lance le lot d'insuline"): the person must own, take or have the condition
("ma polyarthrite", "je prends", "j'ai"), or be named, titled or designated by a role. Besides the
list, terms are recognised by medical word family, by the INN stem of a medicine someone takes,
as an episode ("crise d'épilepsie"), a condition ("trouble du spectre autistique") or an operation.
Qualifiers that follow a term are part of it ("cancer du sein", "diabétique de type 1"),
and a sick leave and its cause form one span ("arrêt maladie pour burn-out"); so do the words that
tie the term to someone before it ("suivie pour une dépression", "en arrêt maladie", "sous
antidépresseurs", "diagnosed with", "allergic to"). "Il/elle" counts as someone only with a verb of
care ("il est traité", "elle est suivie").
"""

from __future__ import annotations

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from relais.guard.engine import HEALTH_IF_NAMED
from relais.guard.lexicon import ADJECTIVE, french_lexicon, world_first_names
from relais.guard.persons import public_figure_sentences
from relais.guard.recognizers import LANGUAGE, TITLES, accent_tolerant, literal_alternation, read_word_list
from relais.guard.tables import tables

SCORE = 0.8
_NUMBER_WORDS = r"un|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze"
# Diseases and operations named by their medical word family: a root of anatomy or pathology and a
# suffix (-ite inflammation, -ose, -ome tumour, -algie pain, -pathie, -émie, -ectomie/-plastie
# surgery, -thérapie). Roots are given, not bare suffixes: "dose", "qualité", "chromosome" stay words.
_MEDICAL_FAMILIES = (
    r"(?:poly|spondyl|ostéo|péri|gastro-)?(?:arthr|bronch|hépat|gastr|gastro-entér|entér|col|derm|sinus|ot|conjonctiv|tendin|méning|pancréat|"
    r"append|cyst|rhin|pharyng|laryng|encéphal|myocard|péricard|spondyl|névr|phléb|néphr|périton|prostat|"
    r"vagin|mast|oesophag|œsophag|gingiv|stomat|kérat|thyroïd|vascular|épicondyl|burs|fasci|ostéomyél|"
    r"pyélonéphr|vulv|cervic|uré?thr|diverticul|sigmoïd|cholécyst|myél|polyneur|neur|parodont|périodont)ites?",
    r"(?:arthr|sclér|fibr|thromb|cirrh|tubercul|ostéopor|nécr|stén|névr|psych|scoli|cyph|endométri|sarcoïd|"
    r"myc|toxoplasm|leptospir|amyl|hémochromat|candid|spondylarthr|coxarthr|gonarthr|silic|asbest|brucell|"
    r"salmonell|listéri|borréli)oses?",
    r"(?:carcin|mélan|lymph|myél|adén|sarc|fibr|gli|neurin|méningi|angi|hémat|lip|papill|blast|glauc|"
    r"neuroblast|rétinoblast|mésothéli|fibroadén)omes?",
    r"(?:lomb|dors|cervic|névr|myalg|fibromy|gon|coxalg|céphal|arthr|rachi|tars|métatars|scapul)algies?",
    r"(?:neuro|myo|cardio|cardiomyo|néphro|rétino|encéphalo|polyneuro|ostéo|arthro|hépato|coagulo)pathies?",
    r"(?:leuc|leuk|an|septic|hypoglyc|hyperglyc|hypercholestérol|hyperuric|urém|bactéri|isch|virém|"
    r"kali|natr|hypokali|hyperkali|hyponatr)émies?",
    # a lack of blood cells: « neutropénie », « thrombocytopenia »
    r"(?:neutro|thrombo|thrombocyto|leuco|leuko|lympho|pancyto|cyto)p(?:énies?|enias?)",
    # the same families in English (« gastroenteritis », « tendinitis », « osteoporosis », « lymphoma »)
    r"(?:poly|osteo|peri|gastro)?(?:arthr|bronch|hepat|gastr|gastroenter|enter|col|derm|sinus|ot|conjunctiv|tendin|"
    r"tendon|mening|pancreat|append|cyst|rhin|pharyng|laryng|encephal|myocard|pericard|spondyl|neur|phleb|nephr|"
    r"periton|prostat|gingiv|stomat|kerat|thyroid|epicondyl|burs|fasci|diverticul|cholecyst|myel|"
    r"pyelonephr|vasculit|uve|ton?sill|laryngotrache|esophag|oesophag|periodont)itis",
    r"(?:arthr|scler|fibr|thromb|cirrh|tubercul|osteopor|necr|sten|neur|psych|scoli|kyph|endometri|sarcoid|"
    r"myc|toxoplasm|amyl|hemochromat|candid|silic|asbest)osis",
    r"(?:carcin|melan|lymph|myel|aden|sarc|fibr|gli|mesotheli|glauc|hemat|angi|neurobl)omas?",
    r"(?:neur|my|fibromy|arthr|cephal)algias?",
    r"(?:neuro|myo|cardio|cardiomyo|nephro|retino|encephalo|polyneuro)path(?:y|ies)",
    # examinations inside the body by their root (« coloscopie », « fibroscopie », « colonoscopy »); not the
    # bare suffix: « microscopie », « spectroscopie » are laboratory methods
    r"(?:colo|colono|endo|gastro|fibro|broncho|arthro|cysto|laparo|hystéro|hystero|colpo|rectosigmoïdo|"
    r"oeso-?gastro-?duodéno|uréthro|urethro|naso-?fibro)scop(?:ies?|y)",
    # conditions named by an adjective (« syndrome anxio-dépressif », « troubles bipolaires »)
    r"(?:troubles?|syndromes?|disorders?)\s+(?:anxio-?dépressifs?|anxieux|dépressifs?|bipolaires?|"
    r"obsessionnels?(?:-compulsifs?)?|post-?traumatiques?|psychotiques?|alimentaires?|musculo-?squelettiques?|"
    r"métaboliques?|néphrotiques?|coronariens?|cognitifs?|anxiety|depressive|bipolar|eating|post-?traumatic)",
)
# Families whose words a text rarely holds: each runs only on a text holding one of its markers (lower case), since
# these patterns start with no literal the regex engine can skip to (each would cost a scan of every text).
_GATED_FAMILIES: tuple[tuple[tuple[str, ...], str], ...] = (
    # imaging and sampling by their root (« mammographie », « scintigraphie », « biopsie », « mammogram »); not
    # « radiographie » (welds and parts are radiographed too)
    (("graph", "biops", "irm", "mri", "scan", "ponction"),
      r"(?:mammo|écho|scinti|angio|corono|échocardio|électrocardio|électroencéphalo|ostéodensito|hystéro)graph(?:ies?|y)"
      r"|mammograms?|biopsies?|biopsy|IRM|MRI|CT\s+scans?|ponctions?\s+(?:lombaires?|médullaires?)"),
    # a check-up or a blood test (« bilan thyroïdien », « prise de sang », « blood work »)
    (("bilan", "sang", "blood", "analyse"),
      r"bilans?\s+(?:sanguins?|thyroïdiens?|hépatiques?|lipidiques?|rénaux|rénal|biologiques?|cardiaques?|cardiologiques?|"
      r"hormonaux|hormonal|martial|glycémiques?|de\s+santé|médical|médicaux)|prises?\s+de\s+sang|analyses?\s+de\s+sang|"
      r"blood\s+(?:tests?|work|panel)|résultats?\s+d['’]analyses?"),
    # a laboratory result: an analyte and its value (« HbA1c 7,1 % », « TSH à 8,4 », « CRP was 48 mg/L »)
    (("hba1c", "glyc", "glyq", "cholest", "ldl", "hdl", "trigly", "tsh", "crp", "créat", "creat", "ferrit", "hémoglob",
      "hemoglob", "haemoglob", "plaquet", "platelet", "leucoc", "inr", "psa", "transamin", "alat", "asat", "gamma",
      "bilirub", "vitamine", "tropon", "glucose"),
      r"(?:HbA1c|hémoglobine\s+glyquée|glycémie(?:\s+à\s+jeun)?|cholestérol(?:\s+(?:LDL|HDL|total))?|LDL|HDL|"
      r"triglycérides|TSH|CRP|créatinine|ferritine|hémoglobine|plaquettes|leucocytes|INR|PSA|transaminases|ALAT|ASAT|"
      r"gamma-?GT|bilirubine|vitamine\s+D|troponine|blood\s+(?:sugar|glucose)|fasting\s+glucose|cholesterol|"
      r"creatinine|ferritin|ha?emoglobin|platelets|troponin)"
      r"(?:\s+(?:was|is|were|of|at|à|de|était|est|=|:)){0,2}\s*:?\s*\d+(?:[.,]\d+)?"
      r"(?:\s*(?:g/L|mg/L|mmol/L|µmol/L|umol/L|mUI/L|µUI/mL|UI/L|U/L|ng/mL|g/dL|mg/dL|%|mmHg))?(?![\w,.]\d)"),
    # a pregnancy said by what is expected (« attend des jumeaux », « is expecting a baby »)
    (("attend", "expecting"),
      r"(?:attend|attendent|attendons|attends|attendait)\s+(?:un\s+(?:bébé|enfant|heureux\s+événement)|"
      r"des\s+(?:jumeaux|jumelles|triplés)|(?:son|leur|notre|mon)\s+(?:premier|deuxième|second|troisième)\s+enfant)|"
      r"expecting\s+(?:a\s+baby|twins|triplets|(?:her|their|our|my|his)\s+(?:first|second|third)\s+(?:child|baby))"),
    # a medical device worn or implanted (« pompe à insuline », « hearing aids »)
    (("insulin", "pacemaker", "stimulateur", "défibrillateur", "defibrillateur", "auditi", "hearing", "cochl",
      "glycémie", "glycemie", "glucose", "holter", "béquilles", "bequilles", "crutches"),
      r"pompes?\s+à\s+insuline|insulin\s+pumps?|pacemakers?|stimulateurs?\s+cardiaques?|défibrillateurs?\s+implantables?|"
      r"appareils?\s+auditifs?|prothèses?\s+auditives?|hearing\s+aids?|implants?\s+cochléaires?|cochlear\s+implants?|"
      r"capteurs?\s+de\s+glycémie|glucose\s+monitors?|holter|béquilles|crutches"),
    # a sick note (« the GP signed him off for two weeks »), drinking and sleep in everyday words
    (("signed", "drink", "drank", "boit", "buvait", "sleep", "dormir", "endormir"),
      r"signed\s+(?:him|her|me|them|you)\s+off|"
      r"(?:drinking|drinks|drank|boit|buvait)\s+(?:heavily|excessively|too\s+much|trop|beaucoup\s+trop)|"
      r"(?:struggling|struggles|struggled|trouble|difficulty|difficulties)\s+(?:to\s+sleep|sleeping|falling\s+asleep)|"
      r"(?:can['’]t|cannot|couldn['’]t)\s+sleep|n['’](?:arrive|arrivait)\s+(?:plus|pas)\s+à\s+dormir|"
      r"(?:du\s+mal|des\s+difficultés)\s+à\s+(?:dormir|s['’]endormir)"),
    # diabetes by its type, as doctors write it (« DT2 », « T1DM », « T2D »), case-sensitive
    (("dt1", "dt2", "t1d", "t2d"), r"(?-i:DT[12]|T[12]DM?)"),
    # an English disease named after someone or a place (« Lyme disease », « Crohn's disease »)
    (("disease",), r"(?-i:\p{Lu}\p{Ll}{2,}(?:['’]s)?\s+)disease"),
    # an injury: a verb of hurting and the part of the body it hurt (« cut his hand », « s'est foulé la cheville »)
    (("cut", "burn", "broke", "sprain", "twist", "injur", "hurt", "fractur", "crush", "s'est", "s’est"),
      r"(?:cut|burnt|burned|broke|sprained|twisted|injured|hurt|fractured|crushed)\s+(?:his|her|my|their|your)\s+"
      r"(?:(?:left|right)\s+)?(?:hand|finger|thumb|arm|wrist|ankle|knee|leg|foot|back|shoulder|neck|head|eye|toe|"
      r"elbow|hip|rib)s?|s['’]est\s+(?:coupée?|brûlée?|cassée?|foulée?|tordue?|blessée?|fracturée?|écrasée?)\s+"
      r"(?:la|le|les|l['’]|un|une)\s*(?:main|doigts?|pouce|bras|poignet|cheville|genou|jambe|pied|dos|épaule|cou|"
      r"tête|œil|oeil|orteil|coude|hanche|côtes?)"),
    # a restriction on what a person may carry or wear, with its limit (« ne peut pas porter plus de 5 kg », « no
    # lifting over 10 kg », « pas de port de masque plus de 2 h »): a medical restriction of a post
    (("porte", "port de", "soulev", "lift", "carry"),
      r"(?:ne\s+(?:peut|doit|pourra|peuvent|doivent)\s+pas|pas\s+de|interdiction\s+de|no|cannot|can['’]t|must\s+not|"
      r"should\s+not)\s+(?:porter|soulever|port\s+de\s+[^\n,.;:]{1,30}?|lifting|lift|carrying|carry)\s+"
      r"(?:plus\s+de|au-delà\s+de|over|more\s+than|above|>)\s*\d+(?:[.,]\d+)?\s*(?:kg|kilos?|h|heures?|hours?)"
      r"(?:\s+d['’]affilée)?"),
    # tablets swallowed by accident or on purpose (« his daughter swallowed 6 tablets of … », « a avalé une dizaine
    # de comprimés »): an intoxication
    (("swallow", "ingest", "aval", "ingér", "inger"),
     r"(?:swallowed|ingested|a\s+avalé|avait\s+avalé|avalé|a\s+ingéré|ingéré)\s+(?:\d+|une?|deux|trois|quatre|cinq|"
     r"six|sept|huit|dix|une\s+dizaine\s+de|plusieurs|a|two|three|four|five|six|seven|eight|ten|several|a\s+dozen)\s+"
     r"(?:tablets?|pills?|capsules?|comprimés?|gélules?|cachets?)"),
    # a sick note in English (« signed off for 4 weeks », « signed off sick »); a record is signed off for release
    (("signed off",),
     r"signed\s+off\s+(?:sick|work|(?:for|until)\s+(?:(?:another|a\s+further)\s+)?(?:\d+|a|one|two|three|four|five|six|"
     r"several|a\s+few)\s+(?:more\s+)?(?:days?|weeks?|months?))"),
    # leaving « pour raisons de santé » (public health is nobody's)
    (("raison",), r"raisons?\s+de\s+santé(?!\s+publique)"),
    # a heart failure's functional class (« NYHA III »)
    (("nyha",), r"NYHA\s+(?:(?:classe?|class|stade|stage)\s+)?(?:IV|I{1,3}|[1-4])(?![\w])"),
    # a victim's total incapacity for work (« ITT de 10 jours »); a trial's ITT population is no duration
    (("itt",), r"ITT\s+(?:de|of)\s+\d+\s+(?:jours?|days?)"),
)
_BODY_PARTS = (r"genoux?|hanches?|épaules?|dos|cœur|coeur|ménisques?|chevilles?|poignets?|mains?|pieds?|yeux|œil|oeil|"
               r"cataracte|vésicule|thyroïde|colonne|reins?|foie|poumons?|seins?|prostate|estomac|ligaments?|"
               r"tendons?|hernie|canal\s+carpien|coude|nez|oreilles?|utérus|ovaires?|intestins?|côlon|colon")
# Operations and therapies by their suffix alone ("appendicectomie", "chimiothérapie", "knee surgery").
# Any word may carry it, so this pattern scans every word: it runs only on texts holding a suffix.
_SUFFIX_TERMS = regex.compile(
    accent_tolerant(r"\b\w+(?:ectomies?|ectom(?:y|ies)|plasties?|plast(?:y|ies)|thérapies?|therap(?:y|ies))\b"
                    r"|(?i:\b(?:[a-z]+\s+)?surgery\b)"),
    regex.IGNORECASE,
)
_SUFFIX_MARKERS = ("ectomi", "ectomy", "plasti", "plasty", "thérapi", "therap", "surgery")
# Medicines by the stems of their international non-proprietary names (WHO INN): "-mab" antibodies,
# "-tinib" kinase inhibitors, "-pril", "-sartan", "-olol", "-statine", "-prazole"... A medicine is
# health data only when someone takes it (`_TAKES`): in a batch record it is a product.
_INN_STEM = (
    r"[\w-]{2,}(?:mab|tinib|trexate|pril|sartan|olol|statine|statin|prazole|cilline|cillin|mycine|mycin|floxacine|"
    r"floxacin|azépam|azepam|zolam|triptan|gliptine|gliptin|gliflozine|gliflozin|parine|parin|oxétine|oxetine|"
    r"afil|dipine|profène|profen|coxib|lukast|tidine|caïne|caine|thiazide|semide|sone|olone|barbital|conazole|"
    r"nidazole|pramine|xaban|gatran|dronate|triptyline|phylline|morphine|codéine|codeine|tramadol|fentanyl|"
    r"traline|alopram|apine|azépine|azepine|idone|racétam|racetam|gabaline|gabalin|trigine|proate|"
    r"lithium|lévothyroxine|levothyroxine|thyrox|héparine|heparin|insuline|insulin|cortisone|métformine|metformin|"
    # tetracyclines and antivirals (WHO INN stems « -cycline », « -vir »)
    r"cycline|cyclin|ciclovir|clovir|navir|buvir|tegravir|amivir)"
    # a medicine named by its class (« took my triptan », « sous anticoagulants », « prend des antidépresseurs »)
    r"|(?:triptans?|statines?|statins?|bêta-?bloquants?|beta-?blockers?|anticoagulants?|antidépresseurs?|"
    r"antidepressants?|anxiolytiques?|benzodiazépines?|benzodiazepines?|corticoïdes?|corticosteroids?|"
    r"neuroleptiques?|antipsychotiques?|antipsychotics?|antiépileptiques?|antiepileptics?|somnifères?|"
    r"sleeping\s+pills?|painkillers?|antalgiques?|opioïdes?|opioids?)(?![\w-])"
)
_TAKES = (
    r"(?i:traitements?\s+(?:par|à\s+base\s+d['’]|à\s+base\s+de|au|à\s+la|à\s+l['’])|traitée?\s+(?:par|au|à\s+la)|"
    r"sous|prends|prend|prenons|prennent|prenait|prenais|pris|prescrite?|prescription\s+d['’]|prescription\s+de|"
    r"ordonnance\s+d['’]|ordonnance\s+de|takes?|taking|took|prescribed|is\s+on|are\s+on|am\s+on|(?<=['’]s\s)on|"
    r"(?<=,\s)on|(?<=\bnow\s)on|started\s+(?:him|her|me|them)\s+on)"
    r"\s+(?:du\s+|de\s+la\s+|de\s+l['’]|des\s+|d['’]|le\s+|la\s+|l['’]|les\s+|un\s+|une\s+|son\s+|sa\s+|ses\s+|"
    r"mon\s+|ma\s+|mes\s+|his\s+|her\s+|my\s+)?"
)
# "crise d'épilepsie", "poussée de sclérose en plaques", "antécédents de cancer": an episode of a condition.
_EPISODE_BEFORE = regex.compile(accent_tolerant(
    r"(?<![\w-])(?i:crises?|attaques?|poussées?|accès|suspicion|antécédents?|séquelles?|"
    r"rechute|history)\s+(?:d['’]|de\s+|du\s+|des\s+|of\s+)$"
))
# "suivie pour une", "en", "sous", "traité contre l'", "diagnosed with": the situation that ties a term
# to someone is part of what must be masked ("suivie pour une dépression", "en arrêt maladie").
_SITUATION_BEFORE = regex.compile(accent_tolerant(
    r"(?<![\w-])(?i:(?:suivie?s?|traitée?s?|soignée?s?|hospitalisée?s?|opérée?s?|atteinte?s?|souffr\w*|"
    r"diagnostiquée?s?|prise?s?\s+en\s+charge|diagnosed|treated|suffer(?:s|ing)?|hospitali[sz]ed|"
    r"in\s+therapy|allergique|allergic)"
    r"\s+(?:pour|contre|de|d['’]|du|des|avec|with|for|from|of|to|à|au|aux)?\s*"
    r"(?:une?\s+|la\s+|le\s+|l['’]|les\s+|son\s+|sa\s+|ses\s+|an?\s+)?"
    r"|(?:en|sous|on|under)\s+)$"
))
EPISODE_REACH = 30
LEFT_WORDS = 10
RIGHT_WORDS = 2
CLAUSE_WORDS = 15
# Where a clause starts: punctuation, a cell, a line, or a conjunction or relative pronoun.
_CLAUSE_BREAK = regex.compile(r"[,;:.!?()«»\"“”|\t\n]|(?i:\b(?:que|qui|et|mais|car|donc|dont|that|and|but|who|which|"
                              r"because|so)\b|\bqu['’])")
# A relative pronoun that starts the clause is about the person named before it (« Samia, qui est cœliaque »).
_RELATIVE = regex.compile(r"(?i:qui|who|that|which)")
# Where a clause ends on the right: punctuation, a cell or a line (« et » goes on: « a fait un malaise
# et a été évacuée », unless a new subject follows it). A full stop followed by a digit or a lower-case
# letter is not an end (« 2.5 mg »).
# A decimal comma (« 1,32 g/L ») is no end either; a comma between CSV cells (« COVID-19,7⏎ ») is.
_CLAUSE_END = regex.compile(r",(?!(?<=\d,)\d{1,3}(?:[^\S\n]|\p{L}|%))|[;:!?)«»\"“”|\t\n]|\.(?!\d)"
                            r"|\((?![^()\n]{0,60}\))"
                            # ... but « et » before a new subject starts another clause (« j'ai un lupus et je
                            # touche 2 640 € net »: the pay is no part of the condition)
                            r"|(?<![\w])(?i:et[^\S\n]+(?=(?:je|j['’]|tu|il|elle|on|nous|vous|ils|elles)(?![\w'’]))"
                            r"|and[^\S\n]+(?=(?:i|he|she|we|they)(?![\w'’])))")
_WORD = regex.compile(r"[^\s(]\S*")
_FOLLOWING_WORD = regex.compile(r"[^\S\n]+(?:(?P<parenthesis>\([^()\n]{1,40}\))|(?P<word>\p{Ll}[\p{L}-]+))")
# Words after a term that say what is done about it (« IVF treatment », « cataracte opérée récemment »).
_FOLLOW_UPS = frozenset({"treatment", "treatments", "therapy", "programme", "program", "sessions", "surgery", "leave",
                         "opéré", "opérée", "récemment", "recently", "traitée", "traité", "diagnostiquée",
                         "diagnostiqué", "diagnosis", "diagnostic"})
# Adjectives that follow a term without saying more of it (« malade depuis », « cancer pendant »).
_NOT_QUALIFIERS = frozenset({"dernier", "dernière", "derniers", "dernières", "prochain", "prochaine", "même",
                             "seul", "seule", "tout", "toute", "tous", "toutes", "autre", "autres", "certain",
                             "certaine", "possible", "nécessaire", "long", "longue", "petit", "petite"})
SITUATION_REACH = 45
# "trouble du spectre autistique", "troubles du sommeil", "syndrome d'apnée du sommeil", "maladie de Lyme".
_CONDITION_OF = (r"(?i:troubles?|syndromes?|maladies?)\s+(?:du|de\s+la|de\s+l['’]|des|de|d['’])\s*[\w-]+"
                 r"(?:\s+(?:[\w-]+(?:ique|iques|if|ive|ifs|ives|al|ale|aux|ales|el|elle|els|elles|aire|aires)))?")
_QUALIFIER = (
    r"(?:[^\S\n]+(?i:sévères?|graves?|chroniques?|aigu[ëe]?s?|légère?s?|modérée?s?|avancée?s?|précoces?|"
    r"severe|chronic|acute|positive|positif|insulino-?dépendante?s?|insulino-?requérante?s?|cardiaques?|"
    r"pulmonaires?|rénale?s?|hépatiques?|cérébrale?s?|respiratoires?|nerveuses?|nerveux|digestive?s?|"
    r"cardiac|pulmonary|renal|respiratory)"
    # "sous traitement pour mon cholestérol", "traité contre son asthme": what the treatment is for.
    r"|[^\S\n]+(?i:pour|contre|for|against)[^\S\n]+(?i:mon|ma|mes|son|sa|ses|une?|le|la|les|l['’]|my|his|her)"
    r"[^\S\n]*[\w-]+"
    # how far a pregnancy is (« pregnant, 20 weeks », « enceinte, 5 mois », « grossesse, 5e mois »), when it is due
    # (« pregnant, due in October »)
    r"|,?[^\S\n]+(?:\d{1,2}|" + _NUMBER_WORDS + r")[^\S\n]+(?i:weeks|semaines|SA|mois|months)\b"
    r"|,?[^\S\n]+(?:\d{1,2}(?:e|ème|è|th|st|nd|rd))[^\S\n]+(?i:mois|month)\b"
    r"|,?[^\S\n]+(?i:due[^\S\n]+(?:in|on|for|mid-|early|late)[^\S\n]*\p{L}+|terme[^\S\n]+prévu[^\S\n]+(?:en|le|pour|fin|début)"
    r"[^\S\n]+\p{L}+)"
    r"|[^\S\n]+(?i:de\s+type\s+(?:[12]|I{1,2})|type\s+[12]|(?:de\s+)?(?:catégorie|category|stade|stage|grade)\s+[\dIV]+[a-c]?|"
    r"à\s+\d{1,3}[^\S\n]?%|à\s+l['’][\w-]+|to\s+[\w-]+|de\s+(?:\d+|" + _NUMBER_WORDS + r")\s+(?:mois|semaines)|"
    r"(?:du|de\s+la|de\s+l['’]|des|aux|au|à\s+la)\s*[\w-]+))"
)
_CAUSE = (r"[^\S\n]+(?i:pour|suite\s+à|à\s+la\s+suite\s+(?:de|du|des|d['’])|à\s+cause\s+(?:de|du|des|d['’])|"
          r"après|depuis|for|due\s+to|since|following|after)[^\S\n]+"
          r"(?i:une?[^\S\n]+|sa[^\S\n]+|son[^\S\n]+|ses[^\S\n]+|an?[^\S\n]+|his[^\S\n]+|her[^\S\n]+)?")
_ROLE = (
    r"collègue|salariée?|patiente?|opérat(?:eur|rice)|technicien(?:ne)?|employée?|agent|collaborat(?:eur|rice)|"
    r"stagiaire|intérimaire|candidate?|responsable|manager|chef|directeur|directrice|pharmacien(?:ne)?|"
    r"fils|fille|mari|femme|épouse|époux|enfant|conjointe?|"
    r"colleague|employee|lead|operator|technician|patient|wife|husband|son|daughter|boss|analyst"
)
# What makes a sentence about someone in particular (the generic "chez le patient" does not).
_ABOUT_SOMEONE = regex.compile(accent_tolerant(
    r"(?i:\b(?:je|j['’]|mon|ma|mes|tu|ton|ta|tes|my|I['’]m)\b)"
    # « me » and « moi » after an imperative's hyphen are whom a task is for (« Fais-moi 3 slides sur le cancer
    # du sein »), not whom a condition is about
    r"|(?<!-)(?i:\b(?:me|m['’]|moi)\b)"
    r"|\bI\b|(?i:\b(?:he|she|his|her|him)\b)"
    # someone's family addressed (« so sorry about your wife's miscarriage »): a policy's « your » alone is no one
    r"|(?i:\b(?:your|ton|ta|tes|vos)\s+(?:wife|husband|partner|son|daughter|child|baby|mother|father|mum|mom|dad|"
    r"femme|mari|épouse|époux|conjointe?|fils|fille|enfant|bébé|mère|père|maman|papa)\b)"
    rf"|(?<!(?i:chez)\s)(?i:\b(?:le|la|l['’]|ce|cette|cet|mon|ma|son|sa|notre|votre|our|my|his|her|the|this)\s+(?:{_ROLE})\b"
    r"(?!\s+(?:type|moyen|standard|typique|modèle)\b|\s+[A-Z]{1,6}-?\d))"
    rf"|(?<![\w,.])(?:{TITLES})[ \u00a0]+[A-ZÀ-Ý]"
    r"|(?i:\b(?:il|elle|ils|elles)\s+(?:est|sont|était|sera|a\s+été|ont\s+été|reste|restera)\s+"
    r"(?:suivie?s?|traitée?s?|soignée?s?|opérée?s?|atteinte?s?|hospitalisée?s?|diagnostiquée?s?|en\s+arrêt|en\s+congé|"
    r"enceinte|sous|allergique|malade|en\s+invalidité|en\s+mi-temps|en\s+rééducation|arrêtée?s?))"
    r"|(?i:\b(?:il|elle|ils|elles)\s+(?:a|avait|ont)\s+(?:une?|des|la|le|du)\s)"
    r"|(?i:\b(?:est|suis|es|était|a\s+été|ai\s+été|is|was|has\s+been)\s+"
    r"(?:atteinte?|diagnostiquée?|hospitalisée?|opérée?|en\s+arrêt|enceinte|diagnosed|hospitali[sz]ed|on\s+sick))"
))
# A product or study named in the sentence ("le lot d'insuline", "la spécialité ... pour l'asthme"):
# then "je" alone ("je lance la fabrication") does not make the term about someone; a stronger tie must.
_PRODUCT_CONTEXT = regex.compile(accent_tolerant(
    # « a lot » is English for « much », not a batch
    # and « until further notice » is no leaflet
    r"(?i:\b(?:(?<!\b(?:a|whole)\s)lots?(?!\s+of\b)|batch(?:es)?|fabrication|production|conditionnement|spécialités?|médicaments?|"
    r"(?<!\b(?:further|short|prior|advance)\s)notice|RCP|SmPC|"
    r"AMM|essais?|études?|protocoles?|indiquée?s?|indications?|formulations?|principe\s+actif|drug\s+product|"
    r"medicinal\s+products?|indicated|trials?|stud(?:y|ies)|leaflet|phases?\s+(?:I{1,3}V?|IV|[1-4][ab]?))\b)"
))
# What ties a health term to someone even in a product context: having or suffering it, a name's
# title or a role (checked separately), or a possessive right before the term ("ma polyarthrite").
_STRONG_TIE = regex.compile(accent_tolerant(
    r"(?i:\b(?:j['’]ai|j['’]avais|je\s+suis|j['’]étais|il\s+a|elle\s+a|ils\s+ont|elles\s+ont|souffre|souffrent|"
    r"atteinte?s?|diagnostiquée?s?|hospitalisée?s?|I\s+have|I\s+had|I['’]m|he\s+has|she\s+has|suffers?|suffering)\b)"
    rf"|(?<!(?i:chez)\s)(?i:\b(?:le|la|l['’]|ce|cette|cet|mon|ma|son|sa|notre|votre|our|my|his|her|the|this)\s+(?:{_ROLE})\b"
    r"(?!\s+(?:type|moyen|standard|typique|modèle)\b|\s+[A-Z]{1,6}-?\d))"
    rf"|(?<![\w,.])(?:{TITLES})[ \u00a0]+[A-ZÀ-Ý]"
))
# A rule for any patient (« le patient doit être informé des effets indésirables : nausées »): a leaflet
# or an SmPC speaks of no one in particular.
_GENERIC_PATIENT = regex.compile(r"(?i:\b(?:le|la|les|un|une|tout|the|a|any)\s+(?:patients?|patientes?)\s+"
                                 r"(?:doit|doivent|devra|devront|peut|peuvent|should|must|may|can)\b)")
_IN_CASE_OF = regex.compile(r"(?i:\ben\s+cas\s+(?:de\s+|d['’]\s*|d\s+|du\s+|des\s+)"
                            r"|\bin\s+(?:the\s+event|case)\s+of\s+)(?:(?:une?|la|le|an?)\s+|l['’]\s*)?$")
_POSSESSIVE_BEFORE = regex.compile(r"(?i:\b(?:mon|ma|mes|son|sa|ses|ton|ta|tes|my|his|her|their)\s+)$")
_TAKES_AT_START = regex.compile(accent_tolerant(_TAKES))
_TAKES_BEFORE = regex.compile(accent_tolerant(_TAKES + "$"))
# A sentence ends at . ! ? ; or a line break, but not after a title ("M. Besson", "Dr. Watson").
_SENTENCE_END = regex.compile(r"(?<=[.!?;])(?<!\b(?:M|Dr|Mr|Mrs|Ms|Pr|St)\.)\s+|\n")
_EPONYM_BEFORE = regex.compile(r"(?i:\b(?:de|du|des|of|von|van)\s+|\bd['’])$")
_SAINT_BEFORE = regex.compile(r"\b(?:St|Saint|Ste|Sainte)\.?[ \u00a0-]$")
# A condition named after the physician who described it: the first name after it is no one's.
_EPONYMOUS_CONDITION_BEFORE = regex.compile(
    r"(?i:\b(?:maladies?|syndromes?|signes?|diseases?|signs?)\s+(?:de\s+|d['’]|of\s+))$")
# A world first name beside a capitalised word is a full name (found as a person, which settles it) or a company
# (« Eli Lilly », « Novo Nordisk »): only a first name alone counts here; « 's » makes an eponym.
# « Johnson & Johnson », « Procter & Gamble »: an ampersand joins the names of a company.
_NAME_AROUND = regex.compile(r"['’]s\b|[ \u00a0]+(?:\p{Lu}|&)")
_NAME_BEFORE = regex.compile(r"(?:\p{Lu}[\p{L}'’-]*|&)[ \u00a0]+$")
_CAPITALISED = regex.compile(r"\b[A-ZÀ-Ý][a-zà-ÿ]+(?:-[A-ZÀ-Ý][a-zà-ÿ]+)?\b")


# A form's health field (« Antécédents : … », « Medical history: … », « Allergies : … »), its value to the end of line.
_HEALTH_FIELD = regex.compile(
    r"(?im:^[ \t\-*•]*(?P<label>antécédents(?:[ \t]+(?:médicaux|personnels|familiaux))?|medical[ \t]+history|"
    r"pathologies?|"
    r"diagnosis|diagnostic|"
    r"allergies?(?:[ \t]+(?:connues?|known|médicamenteuses?|drug))?|"
    r"traitements?[ \t]+(?:en[ \t]+cours|actuels?|concomitants?|associés?|habituels?)|"
    r"(?:current|concomitant)[ \t]+medications?|restrictions?[ \t]+médicales?|"
    r"(?:medical|OH|occupational[ \t]+health)[ \t]+restrictions?|"
    # the reason of a sick leave on a form (« motif arrêt : pneumopathie », « Reason for sick leave: … »)
    r"motifs?[ \t]+(?:de[ \t]+l['’][ \t]*|d['’][ \t]*|de[ \t]+)?(?:arrêt|arret|absence)"
    r"(?:[ \t]+(?:de[ \t]+travail|maladie))?|"
    r"reasons?[ \t]+for[ \t]+(?:the[ \t]+)?(?:sick[ \t]+)?(?:leave|absence))[ \t]*:[ \t]*)(?P<value>[^\n]*[^\s.])"
    # the same fields inside a paragraph, after a sentence (« … CHU. Antécédents : FA, insuffisance rénale. »): the
    # value ends with its sentence
    r"|(?<=[.!?:][ \t]+['\"«“]?)(?P<label>(?i:antécédents(?:[ \t]+(?:médicaux|personnels|familiaux))?|"
    r"medical[ \t]+history|"
    r"allergies?|diagnosis|diagnostic|"
    r"traitements?[ \t]+(?:en[ \t]+cours|actuels?|concomitants?|associés?|habituels?)|"
    r"(?:current|concomitant)[ \t]+medications?|restrictions?[ \t]+médicales?|"
    r"(?:medical|OH|occupational[ \t]+health)[ \t]+restrictions?))[ \t]*:[ \t]*"
    r"(?P<value>(?:[^\n.!?]|\.(?=\S))*[^\s.!?])"
)
# Someone taking a named product at a dose (« prend notre Tensilor 5 mg », « traitée par Cardiovex 10 mg depuis
# janvier pour une FA », « Started Cardiovex 20 mg on 2 Feb for atrial flutter »): the intake and what follows it in
# its clause (since when, what for) tell a treatment; counted when the request names someone.
_DOSED_INTAKE = regex.compile(
    r"(?i:(?<![\w])(?:traitée?s?\s+(?:par|sous|avec)|sous|prend|prenait|a\s+pris|avait\s+pris|started|starts|"
    r"taking|takes|took|is\s+on|was\s+on)\s+(?:notre\s+|our\s+|du\s+|de\s+la\s+|de\s+l['’]|the\s+)?)"
    r"\p{Lu}[\p{L}-]+(?:[^\S\n]+\p{Lu}[\p{L}-]+)?[^\S\n]+\d+(?:[.,]\d+)?[^\S\n]?(?:mg|µg|mcg|g|ml|mL|UI|IU)"
    r"(?![\w])(?:[^.;\n]|\.(?=\d))*"
    # a medical contraindication, an occupational physician's fitness (« contre-indication au travail posté de nuit »,
    # « non vaccinée hépatite B (contre-indication médicale) », « Fit for work with no night shifts »)
    r"|(?i:(?<![\w])contre-?indications?[^\S\n]+(?:au|aux|à|médicales?)(?![\w])|(?<![\w])(?:un)?fit[^\S\n]+for[^\S\n]+"
    r"(?:work|duty)(?![\w])|(?<![\w])(?:in)?apte[^\S\n]+(?:au[^\S\n]+poste|avec[^\S\n]+(?:restrictions?|réserves?|"
    r"aménagements?)))(?:[^.;\n]|\.(?=\d))*"
    # what is not given because of it (« non vaccinée hépatite B (contre-indication médicale) »)
    r"|(?i:(?<![\w])non[^\S\n]+vaccinée?s?[^\S\n]+[^.;\n()]{1,40}\(contre-?indication[^()\n]*\))"
)
# A prescription line (« Lévothyrox 75 µg, 1 cp le matin à jeun », « Séresta 10 mg si besoin », « co-careldopa
# 25/100 tds »): a product, a dose and how often it is taken. A leaflet says the same of no one, so it counts only
# when the request names someone (HEALTH_IF_NAMED), as the intake above.
_FREQUENCY = (r"\d+(?:[.,]5)?[^\S\n]*(?:cp|cps|comprimés?|gélules?|sachets?|bouffées?|gouttes?|tabs?|tablets?|"
              r"capsules?|puffs?)(?![\w])|(?:le|au|chaque)[^\S\n]+(?:matin|soir|midi|coucher)|matin[^\S\n]+et[^\S\n]+soir|"
              r"si[^\S\n]+besoin|à[^\S\n]+la[^\S\n]+demande|par[^\S\n]+jour|/[^\S\n]?j(?:our)?(?![\w])|\d[^\S\n]?x[^\S\n]?/[^\S\n]?j|"
              r"(?:od|bd|bid|tds|tid|qds|qid|qd|prn|nocte|mane)(?![\w])|(?:once|twice|three[^\S\n]+times)[^\S\n]+"
              r"(?:a|per)[^\S\n]+day|daily|at[^\S\n]+night|as[^\S\n]+needed")
_POSOLOGY = regex.compile(
    # the dose: a strength with its unit, or a combination's two strengths (« 25/100 »), never a bare number
    # (« mon domicile 112 bd de la liberté » is an address, not a dose twice a day)
    r"(?<![\w])\p{L}[\p{L}-]{2,}(?:[^\S\n]+\p{Lu}[\p{L}-]+)?[^\S\n]+"
    r"(?:\d+(?:[.,]\d+)?[^\S\n]?(?:mg|µg|mcg|g|ml|mL|UI|IU)(?:/(?:j|jour|day|d))?(?![\w])|\d+/\d+(?![\w/]))"
    r",?[^\S\n]*"
    rf"(?i:{_FREQUENCY})(?:(?:[^.;,\n]|\.(?=\d))*[^\s.;,])?"  # the rest of its clause (« à jeun »)
)
# A patient's laboratory value (« Troponin I 4.2 ng/mL », « Lipase was 1,240 U/L », « HbA1c 6.9 % »): a clinical
# analyte with its value and unit; a batch's assay has other names. Counted when the request names someone.
_LAB_RESULT = regex.compile(
    r"(?i:(?<![\w])(?:troponine?(?:[^\S\n]+[IT])?|lipase|amylase|cr[ée]atinine|CRP|HbA1c|h[ée]moglobine|"
    r"ha?emoglobin|glyc[ée]mie|glucose|cholest[ée]rol|LDL|HDL|triglyc[ée]rides|INR|TSH|ALAT|ASAT|ALT|AST|GGT|"
    r"bilirubine?|kali[ée]mie|natr[ée]mie|potassium|sodium|ferritine?|PSA|plaquettes|platelets|leucocytes|"
    r"neutrophil(?:e|s|es)?|eGFR|DFG|clairance|NT-?proBNP|BNP|D-?dim[eè]res?|lactates?|albumine?|CPK|CK)"
    r"(?:[^\S\n]+(?:was|is|at|of|à|de|était|est))?[^\S\n]*[:=]?[^\S\n]*\d+(?:[ ,.]\d+)*[^\S\n]?"
    r"(?:[pnµm]?g/[dm]?L|[mµ]?mol/L|U/L|UI/L|IU/L|mEq/L|G/L|%|/mm3|mL/min(?:/1[.,]73\s?m2)?)(?![\w]))"
)
_HEALTH_FIELD_MARKERS = ("diagnos", "antéc", "antec", "history", "patholog", "allerg", "traitement", "medication",
                         "restriction", "motif", "reason")
# A table of absences (« Jours d'arrêt », « Sick days »): its « Motif » (reason) column tells a condition.
# (a title's « _ » read as a space: « DATE_DEBUT_ARRET », « NOM_PRENOM »)
_ABSENCE_COLUMN = regex.compile(r"(?i:(?:nb\s+|nombre\s+de\s+)?jours?\s+d['’](?:arrêt|absence)|arrêts?(?:\s+maladie)?|"
                                r"(?:date\s+(?:de\s+)?)?(?:d[ée]but|fin)\s+(?:d['’]\s*|de\s+l['’]\s*)?arr[êe]t(?:\s+maladie)?|"
                                r"absences?|sick\s+(?:days|leave)|days?\s+(?:off|absent|of\s+absence))")
_NAME_COLUMN = regex.compile(r"(?i:noms?(?:\s+(?:et\s+)?pr[ée]noms?)?|prénoms?|prenoms?|name|full\s*name|"
                             r"salariée?|employée?|employee|agent|"
                             r"collaborat(?:eur|rice)|patiente?|personne|staff)")
# A column of conditions, or of the adjustments of a post (which tell a condition); its « motif » (reason) then too.
_HEALTH_COLUMN = regex.compile(r"(?i:pathologies?|maladies?|antécédents|allergies?|diagnosis|medical\s+condition|"
                               r"handicap|disability|motif\s+médical|raison\s+médicale|restrictions?\s+médicales?)")
_ADJUSTMENT_COLUMN = regex.compile(r"(?i:aménagements?(?:\s+de\s+poste)?|adjustments?|accommodations?|"
                                   r"restrictions?(?:\s+médicales?)?)")
_REASON_COLUMN = regex.compile(r"(?i:motifs?|raisons?|reasons?|causes?)")


class HealthRecognizer(EntityRecognizer):
    """SANTE: health terms in a sentence about an identifiable person."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["SANTE", HEALTH_IF_NAMED], supported_language=LANGUAGE,
                         name="HealthRecognizer")
        self._first_names = read_word_list("prenoms.txt")
        self._terms = _compile_terms(read_word_list("sante.txt"))
        self._gated = tuple((markers, _compile_family(f"(?i:{family})")) for markers, family in _GATED_FAMILIES)

    def load(self) -> None:
        """Nothing to load: the term list is read in the constructor."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
                ) -> list[RecognizerResult]:
        """Health terms (with their qualifiers and causes) of the sentences about someone."""
        fields = _health_fields(text)
        lowered = text.lower()
        gated = tuple(pattern for markers, pattern in self._gated if any(marker in lowered for marker in markers))
        matches = _term_spans(self._terms + gated, text)
        if not matches:
            return fields  # most texts: no health term at all
        persons = [(e.start_char, e.end_char) for e in (nlp_artifacts.entities if nlp_artifacts else ())
                   if e.label_ in ("PER", "PERSON")]
        results = []
        for start, end in _sentences(text):
            spans = [(s - start, min(e, end) - start) for s, e in matches if start <= s < end]
            if not spans:
                continue
            sentence = text[start:end]
            named = any(start <= person_start < end for person_start, _ in persons)
            if not named and _PRODUCT_CONTEXT.search(sentence) and not self._strongly_tied(sentence, spans):
                continue
            if not named and _GENERIC_PATIENT.search(sentence):
                continue
            # Nobody in the sentence: health data only if the request names someone (the engine decides). A public
            # figure's first name (« Who is Albert … and what was … COVID-19 … ») is nobody's health.
            public = any(first <= start < last for first, last in public_figure_sentences(text))
            about = _ABOUT_SOMEONE.search(sentence) if public else self._is_about_someone(sentence)
            kind = "SANTE" if named or about else HEALTH_IF_NAMED
            results += [RecognizerResult(kind, start + s, start + e, SCORE)
                        for s, e in _with_leave_lengths(sentence, _joined(sentence, spans))]
        return results + fields

    def _strongly_tied(self, sentence: str, spans: list[tuple[int, int]]) -> bool:
        """Whether a person is tied to the terms beyond a bare "je" (a product context needs it)."""
        if _STRONG_TIE.search(sentence) or any(_strongly_tied_span(sentence, s, e) for s, e in spans):
            return True
        return self._names_someone(sentence)

    def _is_about_someone(self, sentence: str) -> bool:
        if _ABOUT_SOMEONE.search(sentence):
            return True
        return self._names_someone(sentence)

    def _names_someone(self, sentence: str) -> bool:
        """A first name in the sentence: a curated one, or one of any country (« Andreea est rentrée, gastro »).

        A world first name is also an eponym's (« maladie d'Addison », « Addison's disease »): not after « de »,
        « d' » or « of », nor before « 's ».
        """
        for word in _CAPITALISED.finditer(sentence):
            if _EPONYMOUS_CONDITION_BEFORE.search(sentence, max(0, word.start() - 30), word.start()):
                continue  # « syndrome de Gilles de la Tourette », « maladie de Charles »: a physician's name
            if _SAINT_BEFORE.search(sentence, max(0, word.start() - 8), word.start()):
                continue  # « St Vincent's University Hospital », « Saint-Louis »: a place
            if word.group() in self._first_names:
                return True
            if (word.group() in world_first_names() and not _EPONYM_BEFORE.search(sentence, 0, word.start())
                    and not _NAME_AROUND.match(sentence, word.end())
                    and not _NAME_BEFORE.search(sentence, 0, word.start())):
                return True
        return False


def _health_fields(text: str) -> list[RecognizerResult]:
    """The values of a form's health fields and the cells of a table's health columns.

    « Antécédents : HTA, DT2 sous metformine » on a fitness-for-work form, « Allergies: penicillin », a
    column « Pathologie » or « Aménagement » (a workplace adjustment tells a condition) in a table that
    has a name column: health data when the request names someone (the engine settles it).
    """
    lowered = text.lower()
    fields = _HEALTH_FIELD.finditer(text) if any(marker in lowered for marker in _HEALTH_FIELD_MARKERS) else ()
    # the value only: « Antécédents : <SANTE> » says no more than the mask's label, and keeps the form readable
    results = [RecognizerResult(HEALTH_IF_NAMED, match.start("value"), match.end("value"), SCORE) for match in fields]
    results += [RecognizerResult(HEALTH_IF_NAMED, match.start(), match.end(), SCORE)
                for pattern in (_DOSED_INTAKE, _POSOLOGY, _LAB_RESULT) for match in pattern.finditer(text)]
    for table in tables(text):
        titles = [title.strip(" *_").replace("_", " ") for title in table.header]
        if not any(_NAME_COLUMN.fullmatch(title) for title in titles):
            continue
        adjustments = any(_ADJUSTMENT_COLUMN.fullmatch(title) or _ABSENCE_COLUMN.fullmatch(title) for title in titles)
        columns = {i for i, title in enumerate(titles)
                   if _ADJUSTMENT_COLUMN.fullmatch(title) or _HEALTH_COLUMN.fullmatch(title)
                   or (adjustments and _REASON_COLUMN.fullmatch(title))}
        results += [RecognizerResult(HEALTH_IF_NAMED, start, end, SCORE) for row in table.rows[1:]
                    for column, (start, end) in enumerate(row) if column in columns and end > start]
    return results


def _strongly_tied_span(sentence: str, start: int, end: int) -> bool:
    """A term taken ("je prends du ...") or owned ("ma polyarthrite")."""
    return bool(_TAKES_AT_START.match(sentence, start) or _POSSESSIVE_BEFORE.search(sentence, max(0, start - 8), start)
                or _TAKES_BEFORE.search(sentence, max(0, start - 30), start))


def _term_spans(patterns: tuple[regex.Pattern, ...], text: str) -> list[tuple[int, int]]:
    """Spans of health terms in the whole text, the longest kept where patterns overlap."""
    found = [match.span() for pattern in patterns for match in pattern.finditer(text)]
    found = [(_episode_start(text, start), end) for start, end in found if not _is_hypothetical(text, start)]
    lowered = text.lower()
    if any(marker in lowered for marker in _SUFFIX_MARKERS):
        found += [match.span() for match in _SUFFIX_TERMS.finditer(text)]
    kept: list[tuple[int, int]] = []
    for start, end in sorted(found, key=lambda span: (span[0], -span[1])):
        if kept and start < kept[-1][1]:
            kept[-1] = (kept[-1][0], max(end, kept[-1][1]))
        else:
            kept.append((start, end))
    return kept


def _is_hypothetical(text: str, start: int) -> bool:
    """A term in a case that may happen (« en cas d'accident du travail », « in case of injury »): no one has it."""
    return _IN_CASE_OF.search(text, max(0, start - 25), start) is not None


def _episode_start(text: str, start: int) -> int:
    """Where a term starts once the episode before it is included ("crise d'" of "crise d'épilepsie")."""
    episode = _EPISODE_BEFORE.search(text, max(0, start - EPISODE_REACH), start)
    start = episode.start() if episode else start
    situation = _SITUATION_BEFORE.search(text, max(0, start - SITUATION_REACH), start)
    return situation.start() if situation else start


# compiled once: a pattern given as a string is looked up in `regex`'s cache at each call, and recompiled when
# the cache (500 patterns, tossed at random when full: the e-mail names' patterns fill it) has dropped it
_WHOLE_CAUSE = regex.compile(_CAUSE)
# How long a sick leave lasts (« arrêt de 45 jours »): health data only beside a condition in its sentence, since a
# line or a site stops too.
_LEAVE_LENGTH = regex.compile(accent_tolerant(r"(?i:\barrêts?(?:\s+(?:de\s+travail|maladie))?\s+de\s+\d+\s+"
                                              r"(?:jours?|semaines?|mois)\b)"))
# Two clauses of one condition side by side (« il a une pneumopathie et il est sous antibio », « s'est brûlée à la
# main (brûlure du 2e degré) »): one span, or the word between them would be left in clear.
_CONNECTIVE = regex.compile(r"[^\S\n]*[,;(]?[^\S\n]*(?:(?i:et|and|puis|then|avec|with)[^\S\n]+)?")


def _joined(sentence: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The term spans of a sentence widened to what says them, a sick leave joined to its cause.

    « arrêt maladie pour burn-out » is one span; so is « elle est enceinte », « a une leucémie »,
    « hépatite médicamenteuse » or « hospitalisation (appendicite) »: masking the term alone would
    leave the words around it that still tell the condition, or who has it.
    """
    return _merged(sentence, [_widened(sentence, start, end) for start, end in spans], _WHOLE_CAUSE, _CONNECTIVE)


def _with_leave_lengths(sentence: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans of a sentence and the sick leave's length beside them (« fracture du poignet …, arrêt de 45 jours »).

    The length is not widened as a term is: the words before it (« son salaire de 2 780 € … malgré son arrêt de 3
    semaines ») are no part of it.
    """
    return _merged(sentence, sorted(spans + [match.span() for match in _LEAVE_LENGTH.finditer(sentence)]), _CONNECTIVE)


def _merged(sentence: str, spans: list[tuple[int, int]], *joins: regex.Pattern) -> list[tuple[int, int]]:
    """Spans in order, each joined to the one before when they overlap or one of `joins` is all that lies between."""
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and (start <= merged[-1][1] or any(join.fullmatch(sentence[merged[-1][1]:start]) for join in joins)):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _widened(sentence: str, start: int, end: int) -> tuple[int, int]:
    """A term's span reaching back to the start of its clause, and on over what qualifies it.

    At most LEFT_WORDS words back (a relative pronoun starting the clause included), and on to the
    end of its clause (`_clause_end`).
    """
    breaks = list(_CLAUSE_BREAK.finditer(sentence, 0, start))
    clause_start = breaks[-1].end() if breaks else 0
    if breaks and _RELATIVE.fullmatch(breaks[-1].group()):
        clause_start = breaks[-1].start()
    words = [word.start() for word in _WORD.finditer(sentence, clause_start, start)]
    start = words[-LEFT_WORDS] if len(words) > LEFT_WORDS else (words[0] if words else start)
    return start, _clause_end(sentence, end)


def _clause_end(sentence: str, end: int) -> int:
    """Where the clause of a term ends: what follows a term in its clause says more of it.

    « s'est coupé profondément la main gauche », « chute de vélo », « a fait un malaise et a été
    évacuée par les pompiers »: up to the next punctuation within CLAUSE_WORDS words. A longer run
    is no clause: then only RIGHT_WORDS adjectives, follow-up words or a parenthesis are taken.
    """
    stop = _CLAUSE_END.search(sentence, end)
    while stop and stop.group() == ")" and "(" in sentence[end:stop.start()]:
        stop = _CLAUSE_END.search(sentence, stop.end())  # a short parenthesis inside the clause is part of it
    clause_end = stop.start() if stop else len(sentence)
    if len(_WORD.findall(sentence, end, clause_end)) <= CLAUSE_WORDS:
        return len(sentence[:clause_end].rstrip())
    for _ in range(RIGHT_WORDS):
        following = _FOLLOWING_WORD.match(sentence, end)
        word = following.group("word") if following else None
        if not following or not (following.group("parenthesis") or _is_adjective(word) or word in _FOLLOW_UPS):
            break
        end = following.end()
    return end


def _is_adjective(word: str | None) -> bool:
    """A French adjective or participle that says more of a condition (« médicamenteuse », « discale »)."""
    return word is not None and ADJECTIVE in french_lexicon().parts_of_speech(word) and word not in _NOT_QUALIFIERS


def _compile_terms(terms: frozenset[str]) -> tuple[regex.Pattern, ...]:
    """Patterns for the terms: acronyms case-sensitive, words in any case, any apostrophe.

    The list's words and each family of rules are separate patterns: one alternation of them all
    is twice as slow (the regex engine no longer finds the literal prefixes that let it skip ahead).
    """
    words = [term.lower() for term in terms if not term.isupper()]
    # a term of several words in the plural too (« crises d'angoisse », « arrêts de travail »): its first word takes
    # the « s »; a single word does not (« enceintes » are also loudspeakers)
    words += [first + "s" + rest for first, rest in (regex.match(r"(\w+)(\W.*)", word).groups()
                                                    for word in words if regex.match(r"\w+\W", word))
              if first[-1] not in "sxz" and len(first) > 2]
    acronyms = [term for term in terms if term.isupper()]
    alternatives = [f"(?i:{literal_alternation(words)})", *([literal_alternation(acronyms)] if acronyms else []),
                    # "traitement antiépileptique", "sous traitement hormonal": a treatment named by its class.
                    r"(?i:traitements?\s+(?:anti[\w-]+|hormonal|hormonaux|de\s+substitution))"]
    families = (
        "|".join(alternatives),
        *(f"(?i:{family})" for family in _MEDICAL_FAMILIES),
        rf"{_TAKES}(?i:{_INN_STEM})",
        _CONDITION_OF,
        # "chirurgie du genou", "opéré du ménisque": an operation on someone.
        r"(?i:chirurgie(?:\s+(?:du|de\s+la|de\s+l['’]|des|d['’])\s*[\w-]+)?|"
        r"opér(?:ée?s?|er)\s+(?:du|de\s+la|de\s+l['’]|des|d['’])\s*[\w-]+|"
        # an operation on a part of the body (« l'opération de la cuve » is maintenance)
        rf"opérations?\s+(?:du|de\s+la|de\s+l['’]|des|d['’]|aux?)\s*(?:{_BODY_PARTS}))",
    )
    return tuple(_compile_family(family) for family in families)


def _compile_family(family: str) -> regex.Pattern:
    """A family's pattern: whole words, accents optional, with the qualifiers that follow a term."""
    return regex.compile(accent_tolerant(rf"(?<![\w-])(?:{family})(?![\w-]){_QUALIFIER}{{0,3}}"))


def _sentences(text: str):
    start = 0
    for separator in _SENTENCE_END.finditer(text):
        yield start, separator.start()
        start = separator.end()
    yield start, len(text)
