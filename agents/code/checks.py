"""Static checks of Python code (the user's or the model's): parsed and linted, never run.

`ast.parse` only builds a syntax tree, and ruff reads the source as text from its standard input:
nothing here compiles code to run, imports it or calls `exec`/`eval`. The findings on the user's code
are handed to the code model as facts; those on the code the model proposes are reported to the user.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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
    """The fenced code blocks of a message tagged Python, or untagged (the user's code is read either way)."""
    return [body for language, body in _FENCE.findall(text) if language.lower() in _PYTHON_TAGS]


def proposed_python_blocks(text: str) -> list[str]:
    """The Python blocks of an answer: tagged Python, or untagged and parsing as Python.

    An untagged block that does not parse is left alone: in an answer it is far more often a shell
    command or an output sample than broken Python, and calling it a syntax error would mislead.
    """
    return [body for language, body in _FENCE.findall(text)
            if language.lower() in _PYTHON_TAGS - {""} or (not language and syntax_error(body) is None)]


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
    risky = risky_calls(tree)
    report = [f"Syntaxe Python valide ({len(code.splitlines())} lignes)."]
    if definitions:
        report.append("Définitions : " + ", ".join(definitions[:20]) + ".")
    if risky:
        report.append("Appels à examiner : " + "; ".join(risky[:20]) + ".")
    return " ".join(report)


def risky_calls(tree: ast.AST) -> list[str]:
    """The calls worth a reviewer's attention ("ligne 2 : os.system (lance une commande shell)")."""
    return [f"ligne {node.lineno} : {name} ({RISKY_CALLS[name]})" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and (name := _call_name(node)) in RISKY_CALLS]


@tool
def check_python_syntax(code: str) -> str:
    """Check Python source statically (syntax, definitions, risky calls) without running it."""
    return review_python(code)


# --- ruff on the code the model proposes ----------------------------------------------------------

RUFF_TIMEOUT_S = 20.0
# Rules that find mistakes, not matters of taste: pyflakes (undefined names, unused imports and variables),
# pycodestyle's error classes and bugbear's likely bugs. Named, because ruff's own default set grew with
# its versions (0.17 adds import sorting and dozens of style rules a user did not ask about).
RUFF_RULES = "E4,E7,E9,F,B"
RUFF_COMMAND = ("check", "--output-format", "json", "--no-cache", "--isolated", "--select", RUFF_RULES, "-")


class RuffUnavailable(RuntimeError):
    """ruff is not installed on the server, or did not answer: the message says which."""


@dataclass(frozen=True)
class LintFinding:
    """One problem ruff found: where, which rule, what."""

    line: int
    rule: str  # "F401"; "syntaxe" for a parse error ruff reports without a rule
    message: str


def syntax_error(code: str) -> str | None:
    """The syntax error of Python source ("ligne 3 : invalid syntax"), or None when it parses."""
    try:
        ast.parse(code)
    except SyntaxError as error:
        return f"ligne {error.lineno} : {error.msg}"
    except (ValueError, RecursionError, MemoryError) as error:
        return f"code non analysable ({type(error).__name__})"
    return None


def ruff_executable() -> str | None:
    """The ruff binary: the one the `ruff` package installed, else one on the PATH or beside Python."""
    try:
        from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]  # ruff ships no types

        return str(find_ruff_bin())
    except (ImportError, FileNotFoundError):  # no ruff package: look for a ruff binary instead
        pass
    beside = Path(sys.executable).with_name("ruff")
    return shutil.which("ruff") or (str(beside) if beside.is_file() else None)


def lint_python(code: str) -> list[LintFinding]:
    """The findings of ruff on Python source (`RUFF_RULES`: mistakes, not style).

    The source goes to ruff on its standard input with `--isolated` (no project configuration is read)
    and `--no-cache` (nothing is written); ruff parses it, it never runs it.

    Raises:
        RuffUnavailable: ruff is not installed, timed out, or gave no readable report.
    """
    executable = ruff_executable()
    if executable is None:
        raise RuffUnavailable("ruff n'est pas installé sur le serveur")
    try:
        done = subprocess.run([executable, *RUFF_COMMAND], input=code, capture_output=True, text=True,
                              timeout=RUFF_TIMEOUT_S, check=False)
        rows = json.loads(done.stdout or "null")
    except subprocess.TimeoutExpired as error:
        raise RuffUnavailable(f"ruff n'a pas répondu en {RUFF_TIMEOUT_S:g} s") from error
    except (OSError, ValueError) as error:
        raise RuffUnavailable(f"ruff n'a pas pu vérifier le code ({error})") from error
    if not isinstance(rows, list):  # exit code 2: ruff itself failed, its reason is on stderr
        raise RuffUnavailable(f"ruff a échoué ({done.stderr.strip()[:200] or done.returncode})")
    return [LintFinding(line=int((row.get("location") or {}).get("row") or 0), rule=row.get("code") or "syntaxe",
                        message=str(row.get("message", ""))) for row in rows]
