"""The business cases Relais knows, and the Open WebUI model ids that name them."""

from __future__ import annotations

from typing import Literal, get_args

Label = Literal[
    "contract_clauses",
    "web_research",
    "procedures",
    "translation",
    "computer_validation",
    "code",
    "regulatory_analysis",
    "general",
]
LABELS: tuple[Label, ...] = get_args(Label)

AUTO_MODEL_ID = "relais-auto"


def model_id(label: Label) -> str:
    """The Open WebUI model id of an agent: `relais-` + the label with dashes."""
    return "relais-" + label.replace("_", "-")


def label_from_model_id(model: str) -> Label | None:
    """The label a model id names, None for `relais-auto`; KeyError for an unknown id."""
    if model == AUTO_MODEL_ID:
        return None
    for label in LABELS:
        if model_id(label) == model:
            return label
    raise KeyError(model)
