"""The graphs LangGraph Studio and `langgraph dev` serve (listed in langgraph.json).

Compiling a graph loads no model: models are built when a node first runs.
"""

from graphs.supervisor import agent_graph, build_supervisor_graph

supervisor = build_supervisor_graph()
contract_clauses = agent_graph("contract_clauses")
web_research = agent_graph("web_research")
procedures = agent_graph("procedures")
translation = agent_graph("translation")
computer_validation = agent_graph("computer_validation")
code = agent_graph("code")
regulatory_analysis = agent_graph("regulatory_analysis")
general = agent_graph("general")
