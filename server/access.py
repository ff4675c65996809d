"""Which agents each user may use: a TOML policy mapping groups to labels.

```toml
[default]                      # anyone authenticated, whatever their groups
labels = ["general"]

[groups."Assurance qualité"]   # group names as Open WebUI shows them (case-insensitive)
labels = ["procedures", "regulatory_analysis", "computer_validation"]

[groups.admins]
labels = ["*"]                 # every agent

[users]                        # groups for users whose identity carries none (user id or e-mail)
"alice@example.com" = ["Assurance qualité"]
```

Without a policy file everyone may use every agent. A file with a mistake is refused when the
server starts, with the line at fault.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from relais.labels import LABELS, Label, model_id
from relais.settings import get_settings

if TYPE_CHECKING:
    from server.auth import Identity

log = logging.getLogger(__name__)

WILDCARD = "*"
TOP_LEVEL_KEYS = {"default", "groups", "users"}
SECTION_KEYS = {"labels", "description"}


class PolicyError(ValueError):
    """A policy file that cannot be used, with the line at fault when it is known."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source, self.line, self.message = source, line, message
        where = f"{source}:{line}" if line else source
        super().__init__(f"access policy {where}: {message}")


def _fold(name: str) -> str:
    return name.strip().casefold()


@dataclass(frozen=True)
class AccessPolicy:
    """Groups -> allowed agent labels, plus groups for users whose identity carries none."""

    group_labels: Mapping[str, frozenset[Label]] = field(default_factory=dict)
    default_labels: frozenset[Label] = frozenset(LABELS)
    user_groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    source: str = "<everyone may use every agent>"

    @classmethod
    def allow_all(cls) -> AccessPolicy:
        """The policy used without a file: every agent for everyone."""
        return cls()

    @classmethod
    def load(cls, path: Path | str) -> AccessPolicy:
        """Read and check a policy file.

        Raises:
            PolicyError: the file is missing, not TOML, or names an unknown key, label or group.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise PolicyError(str(path), None, f"cannot be read ({error.strerror or error})") from error
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, source: str = "<policy>") -> AccessPolicy:
        """Build a policy from TOML text (see `load`)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            # Python 3.11's tomllib gives the position only in its message: "... (at line 4, column 11)".
            found = re.search(r"\(at line (\d+), column \d+\)|at end of document", str(error))
            line = int(found.group(1)) if found and found.group(1) else (len(text.splitlines()) or None)
            raise PolicyError(source, line, f"not valid TOML: {error}") from error
        return _PolicyReader(text, source).build(data)

    def groups_of(self, user_id: str, email: str | None = None) -> frozenset[str]:
        """The groups the policy's [users] table gives a user, by user id or e-mail."""
        groups = self.user_groups.get(_fold(user_id), frozenset())
        if email:
            groups = groups | self.user_groups.get(_fold(email), frozenset())
        return groups

    def allowed_labels(self, identity: Identity) -> frozenset[Label]:
        """Every label the identity may use: the default ones plus those of its known groups."""
        allowed = set(self.default_labels)
        for group in identity.groups:
            labels = self.group_labels.get(_fold(group))
            if labels is None:
                log.debug("user %s is in group %r, which the access policy does not name", identity.user_id, group)
                continue
            allowed |= labels
        return frozenset(allowed)

    def can_use(self, identity: Identity, label: Label) -> bool:
        """Whether the identity may use the agent of this label."""
        return label in self.allowed_labels(identity)


class _PolicyReader:
    """Checks parsed TOML against the policy's shape, locating each mistake in the text."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def fail(self, message: str, *needles: str, after_table: str | None = None) -> PolicyError:
        return PolicyError(self.source, self.find_line(needles, after_table), message)

    def find_line(self, needles: tuple[str, ...], after_table: str | None) -> int | None:
        """The first line (1-based) holding one of the needles, searching from a table header if given."""
        start = 0
        if after_table is not None:
            header = re.compile(r"^\s*\[\s*" + after_table + r"\s*\]")
            start = next((i for i, line in enumerate(self.lines) if header.search(line)), 0)
        for begin in (start, 0):
            for index in range(begin, len(self.lines)):
                if any(needle in self.lines[index] for needle in needles):
                    return index + 1
        return None

    def build(self, data: dict[str, object]) -> AccessPolicy:
        for key in data:
            if key not in TOP_LEVEL_KEYS:
                raise self.fail(f"unknown section [{key}] (expected {', '.join(sorted(TOP_LEVEL_KEYS))})",
                                f"[{key}", f"{key} =", f"{key}=", f"{key}.")
        default = self.labels_of(data.get("default", {}), "default", r"default")
        groups_raw = self.table(data.get("groups", {}), "groups", "[groups")
        group_labels: dict[str, frozenset[Label]] = {}
        names: dict[str, str] = {}
        for name, section in groups_raw.items():
            table_re = r"groups\s*\.\s*[\"']?" + re.escape(name) + r"[\"']?"
            if _fold(name) in names:
                raise self.fail(f"group {name!r} is defined twice (as {names[_fold(name)]!r}; names ignore case)",
                                name, after_table=table_re)
            group_labels[_fold(name)] = self.labels_of(section, f"groups.{name}", table_re)
            names[_fold(name)] = name
        users = self.users(self.table(data.get("users", {}), "users", "[users"), names)
        return AccessPolicy(group_labels, default, users, self.source)

    def table(self, value: object, name: str, needle: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(f"[{name}] must be a table", needle, f"{name} =")
        return value

    def labels_of(self, section: object, name: str, table_re: str) -> frozenset[Label]:
        if not isinstance(section, dict):
            raise self.fail(f"[{name}] must be a table with a 'labels' list", name)
        for key in section:
            if key not in SECTION_KEYS:
                raise self.fail(f"unknown key {key!r} in [{name}] (expected 'labels')", key, after_table=table_re)
        labels = section.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(item, str) for item in labels):
            raise self.fail(f"'labels' in [{name}] must be a list of agent labels", "labels", after_table=table_re)
        if WILDCARD in labels:
            return frozenset(LABELS)
        for label in labels:
            if label not in LABELS:
                raise self.fail(f"unknown agent label {label!r} in [{name}] (known: {', '.join(LABELS)}, or '*')",
                                f'"{label}"', f"'{label}'", after_table=table_re)
        return frozenset(labels)

    def users(self, users: dict[str, object], group_names: dict[str, str]) -> dict[str, frozenset[str]]:
        resolved: dict[str, frozenset[str]] = {}
        for user, groups in users.items():
            if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
                raise self.fail(f"[users] {user!r} must map to a list of group names", user, after_table="users")
            for group in groups:
                if _fold(group) not in group_names:
                    raise self.fail(f"[users] {user!r} is in unknown group {group!r} (define [groups.{group}])",
                                    f'"{group}"', f"'{group}'", after_table="users")
            resolved[_fold(user)] = frozenset(group_names[_fold(group)] for group in groups)
        return resolved


@lru_cache(maxsize=4)
def _load_policy(path: Path | None) -> AccessPolicy:
    return AccessPolicy.allow_all() if path is None else AccessPolicy.load(path)


def get_access_policy() -> AccessPolicy:
    """The policy named by RELAIS_ACCESS_POLICY, loaded once (allow-all when unset).

    Raises:
        PolicyError: the file has a mistake; the server calls this at start-up to refuse to start.
    """
    return _load_policy(get_settings().access_policy)


def ensure_allowed(policy: AccessPolicy, identity: Identity, label: Label | None) -> None:
    """Refuse with a 403 when the identity may not use the agent (None = the supervisor, `relais-auto`).

    Raises:
        ApiError: 403 `permission_error` naming the agents the user may use.
    """
    from server.errors import ApiError

    allowed = policy.allowed_labels(identity)
    if (label is None and allowed) or (label is not None and label in allowed):
        return
    requested = "relais-auto" if label is None else model_id(label)
    offered = ", ".join(sorted(model_id(item) for item in allowed)) or "none"
    raise ApiError(403, f"User {identity.user_id} may not use {requested}; agents allowed: {offered}.",
                   error_type="permission_error", code="agent_forbidden")
