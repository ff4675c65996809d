"""Schemathesis hooks (loaded by `st` in its own virtualenv through SCHEMATHESIS_HOOKS).

Random strings almost never name a Relais model, so without help every generated chat request stops
at 404 `model_not_found` (or 400 for want of a user message) and the agents never run. Some bodies get a
real model id, and some of those a user message too, so the fuzzer reaches the graph behind the handler.
"""

import schemathesis
from hypothesis import strategies as st

MODEL_IDS = ["relais-auto", "relais-general", "relais-code", "relais-translation", "relais-procedures",
             "relais-contract-clauses", "relais-web-research", "relais-computer-validation",
             "relais-regulatory-analysis"]


@schemathesis.hook
def flatmap_body(context, body):
    """Keep the generated chat request, or give it a real model id, or a real model id and a user message."""
    operation = context.operation
    if operation is None or operation.path != "/v1/chat/completions" or not isinstance(body, dict):
        return st.just(body)
    with_model = st.sampled_from(MODEL_IDS).map(lambda model: {**body, "model": model})
    messages = body.get("messages") if isinstance(body.get("messages"), list) else []
    with_user = st.tuples(with_model, st.text(min_size=1, max_size=200)).map(
        lambda pair: {**pair[0], "messages": [*messages, {"role": "user", "content": pair[1]}]})
    return st.one_of(st.just(body), with_model, with_user)
