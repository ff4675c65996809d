"""The study's grading grid: accuracy 50 %, completeness 30 %, format and clarity 20 %, each on 10."""

from __future__ import annotations

from pydantic import BaseModel, Field

# Weights of the original study; they add up to 1 so the final mark stays on 10.
WEIGHTS: dict[str, float] = {"accuracy": 0.5, "completeness": 0.3, "format": 0.2}
CRITERIA: tuple[str, ...] = tuple(WEIGHTS)
# French names shown to the regulatory team (report, spreadsheet).
CRITERION_LABELS: dict[str, str] = {
    "accuracy": "Exactitude",
    "completeness": "Complétude",
    "format": "Forme et clarté",
    "final": "Note finale",
}
MAX_SCORE = 10.0


class JudgeScores(BaseModel):
    """What the judge model returns for one answer: three marks on 10, each with its reason."""

    accuracy: float = Field(ge=0, le=10, description="Exactitude réglementaire de la réponse, de 0 à 10.")
    accuracy_justification: str = Field(description="Une ou deux phrases qui justifient la note d'exactitude.")
    completeness: float = Field(ge=0, le=10, description="Complétude : les points attendus sont couverts, de 0 à 10.")
    completeness_justification: str = Field(description="Une ou deux phrases qui justifient la note de complétude.")
    format: float = Field(ge=0, le=10, description="Forme et clarté : structure, lisibilité, citations, de 0 à 10.")
    format_justification: str = Field(description="Une ou deux phrases qui justifient la note de forme.")

    @property
    def final(self) -> float:
        """The weighted final mark on 10."""
        return final_score(self.accuracy, self.completeness, self.format)


def final_score(accuracy: float, completeness: float, format: float) -> float:  # noqa: A002 - the grid's word
    """The study's weighted mark: 0.5 × accuracy + 0.3 × completeness + 0.2 × format, on 10.

    Raises:
        ValueError: when a mark is outside 0–10.
    """
    marks = {"accuracy": accuracy, "completeness": completeness, "format": format}
    for name, value in marks.items():
        if not 0 <= value <= MAX_SCORE:
            raise ValueError(f"{name} must be between 0 and 10, got {value}")
    return sum(WEIGHTS[name] * value for name, value in marks.items())
