"""What to do with a request once inspected: allow, keep it local, redact it, or refuse it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, get_args

from relais.guard.engine import MARKING, Finding, GuardReport

GuardPolicy = Literal["local", "redact", "refuse"]
GUARD_POLICIES: tuple[str, ...] = get_args(GuardPolicy)
GuardAction = Literal["allow", "local", "redact", "refuse"]


@dataclass(frozen=True)
class GuardDecision:
    """The guard's verdict for one remote call: the action, a French message, counts by type."""

    action: GuardAction
    message: str
    findings: dict[str, int] = field(default_factory=dict)
    policy: GuardPolicy | None = None

    def to_audit(self) -> dict:
        """The decision as an audit record holds it: counts by type, never the values."""
        return {"policy": self.policy, "action": self.action, "findings": dict(self.findings)}


def redact(text: str, report_or_findings: GuardReport | Iterable[Finding]) -> str:
    """Replace each finding in `text` by a typed placeholder (<NIR>, <IBAN>, <PERSONNE>...).

    The replacement is presidio-anonymizer's (the guard's findings are Presidio results already);
    it also joins two findings of one type separated only by blanks into one placeholder.
    Confidentiality markings are left in place: masking the word "CONFIDENTIEL" would not make the
    document less confidential (`decide()` keeps such documents local).

    Args:
        text: one of the inspected texts.
        report_or_findings: the report of `inspect()` (its findings for this text are used), or the
            findings of this text.

    Returns:
        The text with every personal value replaced.

    Raises:
        ValueError: the report does not cover this text, or a finding lies outside it.
    """
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    findings = [finding for finding in _findings_for(text, report_or_findings) if finding.entity_type != MARKING]
    for finding in findings:
        if not 0 <= finding.start < finding.end <= len(text):
            raise ValueError(f"finding {finding.entity_type} at {finding.start}-{finding.end} lies outside the text")
    if not findings:
        return text
    results = [RecognizerResult(f.entity_type, f.start, f.end, f.score) for f in findings]
    kinds = {finding.entity_type for finding in findings}
    operators = {kind: OperatorConfig("replace", {"new_value": f"<{kind}>"}) for kind in kinds}
    return AnonymizerEngine().anonymize(text=text, analyzer_results=results, operators=operators).text


def _findings_for(text: str, report_or_findings: GuardReport | Iterable[Finding]) -> list[Finding]:
    if not isinstance(report_or_findings, GuardReport):
        return list(report_or_findings)
    indexes = {index for index, inspected in enumerate(report_or_findings.texts) if inspected == text}
    if not indexes:
        raise ValueError("this text was not inspected in the given report: inspect it first")
    first = min(indexes)
    return [finding for finding in report_or_findings.findings if finding.text_index == first]


# From the least to the most protective: masking values, keeping the request local, sending nothing.
_STRICTNESS = {"redact": 0, "local": 1, "refuse": 2}


def strictest(policy: GuardPolicy, floor: GuardPolicy | None) -> GuardPolicy:
    """The agent's policy raised to the deployment's floor (`RELAIS_GUARD_POLICY`), never lowered."""
    if floor is None or _STRICTNESS[floor] <= _STRICTNESS[policy]:
        return policy
    return floor


def decide(policy: GuardPolicy, report: GuardReport) -> GuardDecision:
    """Turn an agent's policy and an inspection report into a decision for one remote call.

    A clean report is always allowed. A document marked confidential is never sent out, even
    redacted: under the "redact" policy it goes to a local model instead.

    Args:
        policy: the agent's policy: "local", "redact" or "refuse".
        report: the result of `inspect()` on everything the call would send.

    Returns:
        The decision, with a French message for the user's status event.

    Raises:
        ValueError: unknown policy.
    """
    if policy not in GUARD_POLICIES:
        raise ValueError(f"unknown guard policy {policy!r}: expected one of {', '.join(GUARD_POLICIES)}")
    counts = report.counts()
    if report.is_clean:
        return GuardDecision("allow", "Contrôle de confidentialité : aucune donnée sensible détectée.", counts, policy)
    found = report.summary()
    if policy == "refuse":
        message = (f"{found}. Cette demande ne peut pas être envoyée à un modèle externe : retirez ces données "
                   "ou utilisez un assistant qui fonctionne en local.")
        return GuardDecision("refuse", message, counts, policy)
    if policy == "redact" and not report.is_marked_confidential:
        message = f"{found} : elles sont masquées avant l'envoi au modèle externe."
        return GuardDecision("redact", message, counts, policy)
    message = f"{found} : la demande est traitée par un modèle local, rien ne sort de l'entreprise."
    return GuardDecision("local", message, counts, policy)
