"""The confidentiality guard: nothing personal or confidential reaches a remote model unseen.

`inspect()` finds personal data (NIR, IBAN, cards, SIREN/SIRET, phones, e-mails, names),
confidentiality markings and the business secrets a sentence tells without one (business.py);
`decide()` applies an agent's policy; `redact()` masks values; `guard_messages()` does all three
for LangChain messages. `fence_untrusted()` and `check_tool_allowed()` are the prompt-injection
rules. Importing this package loads no model.
"""

from relais.guard.engine import LABELS, Finding, GuardReport, inspect, warm_up
from relais.guard.injection import FENCE_TAG, ToolNotAllowed, check_tool_allowed, fence_untrusted
from relais.guard.messages import guard_messages
from relais.guard.policy import GUARD_POLICIES, GuardAction, GuardDecision, GuardPolicy, decide, redact

__all__ = [
    "FENCE_TAG",
    "GUARD_POLICIES",
    "LABELS",
    "Finding",
    "GuardAction",
    "GuardDecision",
    "GuardPolicy",
    "GuardReport",
    "ToolNotAllowed",
    "check_tool_allowed",
    "decide",
    "fence_untrusted",
    "guard_messages",
    "inspect",
    "redact",
    "warm_up",
]
