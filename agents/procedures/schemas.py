"""What the procedures agent asks the model to fill: a standard operating procedure.

The model fills `SopDraft` (structured output); numbering, the revision table and the export are
done in code (graph.py), so they never depend on what a small model remembers.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Responsibility(BaseModel):
    """Who is accountable for what in the procedure."""

    role: str = Field(description="Fonction (jamais un nom de personne), ex. « Opérateur de production ».")
    duties: str = Field(description="Ce dont cette fonction est responsable dans la procédure.")


class Definition(BaseModel):
    """A term or abbreviation used in the procedure."""

    term: str = Field(description="Terme ou abréviation.")
    definition: str = Field(description="Définition courte.")


class Step(BaseModel):
    """One action of the procedure: one actor, one imperative action."""

    actor: str = Field(description="Fonction qui réalise l'étape.")
    action: str = Field(description="Action à l'impératif, une seule action par étape.")
    details: str = Field(default="", description="Critère, valeur cible ou précaution ; vide si aucun.")


class Record(BaseModel):
    """A record the procedure produces."""

    name: str = Field(description="Nom de l'enregistrement (formulaire, registre, rapport...).")
    retention: str = Field(default="", description="Durée et lieu d'archivage s'ils sont connus ; sinon vide.")


class Revision(BaseModel):
    """One line of the revision history (only for a procedure being revised)."""

    version: str = Field(description="Numéro de version, ex. « 02 ».")
    date: str = Field(default="", description="Date donnée par l'utilisateur ; vide sinon.")
    change: str = Field(description="Nature de la modification et sa raison.")


class SopDraft(BaseModel):
    """A standard operating procedure drafted from the user's notes, without invented facts."""

    title: str = Field(description="Titre de la procédure.")
    document_type: str = Field(default="Procédure", description="« Procédure » ou « Instruction de travail ».")
    purpose: str = Field(description="1. Objet : pourquoi cette procédure existe.")
    scope: str = Field(description="2. Domaine d'application : ce qui est couvert et ce qui ne l'est pas.")
    responsibilities: list[Responsibility] = Field(description="3. Responsabilités par fonction.")
    definitions: list[Definition] = Field(default_factory=list, description="4. Définitions et abréviations.")
    steps: list[Step] = Field(max_length=30, description="5. Déroulement : étapes dans l'ordre d'exécution.")
    records: list[Record] = Field(default_factory=list, description="6. Enregistrements produits.")
    references: list[str] = Field(default_factory=list, description="7. Documents et textes de référence cités.")
    revision_history: list[Revision] = Field(
        default_factory=list,
        description="8. Historique : uniquement les révisions que l'utilisateur décrit (révision d'une procédure "
        "existante) ; vide pour une création.",
    )
    missing_information: list[str] = Field(
        default_factory=list,
        description="Informations absentes des notes et nécessaires (responsable, fréquence, valeur cible...) : "
        "à demander à l'utilisateur, jamais à inventer.",
    )

