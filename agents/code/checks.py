"""Static checks of code a user pastes: parsed, never run.

`ast.parse` only builds a syntax tree; nothing here compiles code to run, imports it or calls
`exec`/`eval`. The findings are handed to the code model as facts about the user's code.
"""

from __future__ import annotations

import ast
import re

from langchain_core.tools import tool

_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)```", re.DOTALL)
_PYTHON_TAGS = {"python", "py", "python3", ""}
# Calls worth a reviewer's attention in code that may touch production data or the server.
RISKY_CALLS = {
    "eval": "évalue du texte comme du code", "exec": "exécute du texte comme du code",
    "os.system": "lance une commande shell", "subprocess.run": "lance un processus",
    "subprocess.Popen": "lance un processus", "subprocess.call": "lance un processus",
    "shutil.rmtree": "supprime une arborescence", "os.remove": "supprime un fichier",
    "pickle.loads": "désérialise des données non sûres", "pickle.load": "désérialise des données non sûres",
}


def python_blocks(text: str) -> list[str]:
    """The fenced code blocks of a message that are Python (or untagged but parse as Python)."""
    blocks = []
    for language, body in _FENCE.findall(text):
        if language.lower() in _PYTHON_TAGS:
            blocks.append(body)
    return blocks


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    return ""


def review_python(code: str) -> str:
    """A short static report on Python source: syntax, definitions, risky calls (the code is not run)."""
    try:
        tree = ast.parse(code)
    except SyntaxError as error:
        return f"Erreur de syntaxe ligne {error.lineno} : {error.msg}."
    except (ValueError, RecursionError, MemoryError) as error:
        return f"Code non analysable ({type(error).__name__})."
    definitions = [node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)]
    risky = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (name := _call_name(node)) in RISKY_CALLS:
            risky.append(f"ligne {node.lineno} : {name} ({RISKY_CALLS[name]})")
    report = [f"Syntaxe Python valide ({len(code.splitlines())} lignes)."]
    if definitions:
        report.append("Définitions : " + ", ".join(definitions[:20]) + ".")
    if risky:
        report.append("Appels à examiner : " + "; ".join(risky[:20]) + ".")
    return " ".join(report)


@tool
def check_python_syntax(code: str) -> str:
    """Check Python source statically (syntax, definitions, risky calls) without running it."""
    return review_python(code)
