"""Who is calling: the API key of the connection, then the Open WebUI user behind it.

Two layers. The connection (Open WebUI, a script) proves itself with `Authorization: Bearer <key>`
when `RELAIS_API_KEYS` is set; without keys only clients on this machine are served. The user is
then read from the HS256 JWT Open WebUI signs into `X-OpenWebUI-User-Jwt` (claims `sub`, `email`,
`name`, `role`, `iss="open-webui"`, `iat`, `exp`; see open_webui/utils/headers.py, 0.12.4), or from
its plaintext `X-OpenWebUI-User-*` headers when the configuration trusts them.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote

import jwt
from fastapi import Request

from relais.settings import Settings, get_settings
from server.errors import ApiError

if TYPE_CHECKING:
    from server.access import AccessPolicy

JWT_HEADER = "X-OpenWebUI-User-Jwt"
USER_HEADERS = {
    "user_id": "X-OpenWebUI-User-Id",
    "name": "X-OpenWebUI-User-Name",
    "email": "X-OpenWebUI-User-Email",
    "role": "X-OpenWebUI-User-Role",
}
# Open WebUI fills it from a custom connection header templated with {{USER_GROUPS}} (comma-separated names).
GROUPS_HEADER = "X-OpenWebUI-User-Groups"
OPENWEBUI_ISSUER = "open-webui"
JWT_LEEWAY_S = 10  # tolerated clock skew between Open WebUI and Relais

Via = Literal["jwt", "headers", "anonymous", "api-key"]


def unauthorized(message: str, code: str) -> ApiError:
    """A 401 in the OpenAI shape, asking for a bearer token."""
    return ApiError(401, message, error_type="authentication_error", code=code,
                    headers={"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class Identity:
    """The person (or script) a request is served for."""

    user_id: str
    name: str | None = None
    email: str | None = None
    role: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)
    via: Via = "anonymous"


def key_digest(key: str) -> bytes:
    """The sha256 of a key: keys are compared as digests so their length leaks nothing."""
    return hashlib.sha256(key.encode("utf-8")).digest()


def match_api_key(presented: str, keys: Iterable[str]) -> str | None:
    """The configured key equal to `presented`, or None; every key is compared, in constant time."""
    presented_digest = key_digest(presented)
    found = None
    for key in keys:
        if hmac.compare_digest(presented_digest, key_digest(key)):
            found = key
    return found


def is_loopback(host: str | None) -> bool:
    """Whether a client address is this machine (127.0.0.0/8 or ::1)."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def check_connection(request: Request, settings: Settings) -> str | None:
    """Check the connection's API key; the matching key's short fingerprint, or None when no key is needed.

    Raises:
        ApiError: 401 for a missing or wrong key, or a remote client while no key is configured.
    """
    keys = [secret.get_secret_value() for secret in settings.api_keys]
    if not keys:
        host = request.client.host if request.client else None
        if is_loopback(host):
            return None
        raise unauthorized(
            f"Relais accepts calls without an API key only from this machine (client {host}); "
            "set RELAIS_API_KEYS and send 'Authorization: Bearer <key>'.", "api_key_required")
    token = _bearer_token(request)
    if token is None:
        raise unauthorized("Missing API key: send 'Authorization: Bearer <key>'.", "missing_api_key")
    key = match_api_key(token, keys)
    if key is None:
        raise unauthorized("Invalid API key.", "invalid_api_key")
    return key_digest(key).hex()[:12]


def parse_groups(value: object) -> frozenset[str]:
    """Group names from a JWT claim (list or comma-separated string) or the groups header."""
    if isinstance(value, str):
        items: Iterable[object] = value.split(",")
    elif isinstance(value, list | tuple):
        items = value
    else:
        return frozenset()
    return frozenset(unquote(str(item)).strip() for item in items if str(item).strip())


def decode_openwebui_jwt(token: str, secret: str) -> dict[str, object]:
    """The verified claims of an Open WebUI user JWT (HS256 only, signature, expiry and issuer checked).

    Raises:
        ApiError: 401 naming what is wrong with the token.
    """
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=OPENWEBUI_ISSUER, leeway=JWT_LEEWAY_S,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise unauthorized(f"The {JWT_HEADER} token has expired.", "expired_token") from error
    except jwt.InvalidSignatureError as error:
        raise unauthorized(f"The {JWT_HEADER} token signature is invalid (check RELAIS_OPENWEBUI_JWT_SECRET "
                           "against Open WebUI's FORWARD_USER_INFO_HEADER_JWT_SECRET).", "invalid_token") from error
    except jwt.InvalidAlgorithmError as error:
        raise unauthorized(f"The {JWT_HEADER} token must be signed with HS256.", "invalid_token") from error
    except jwt.DecodeError as error:
        raise unauthorized(f"The {JWT_HEADER} token is malformed: {error}.", "invalid_token") from error
    except jwt.InvalidTokenError as error:
        raise unauthorized(f"The {JWT_HEADER} token is invalid: {error}.", "invalid_token") from error
    if not str(claims.get("sub", "")).strip():
        raise unauthorized(f"The {JWT_HEADER} token names no user (empty 'sub').", "invalid_token")
    return claims


def _optional(value: object, *, quoted: bool = False) -> str | None:
    if value is None:
        return None
    text = unquote(str(value)) if quoted else str(value)
    return text.strip() or None


def identity_from_jwt(token: str, settings: Settings) -> Identity:
    """The user a verified Open WebUI JWT names."""
    secret = settings.openwebui_jwt_secret.get_secret_value().strip() if settings.openwebui_jwt_secret else ""
    if not secret:
        raise unauthorized(f"Received {JWT_HEADER} but RELAIS_OPENWEBUI_JWT_SECRET is not set: "
                           "set it to Open WebUI's FORWARD_USER_INFO_HEADER_JWT_SECRET.", "jwt_secret_missing")
    claims = decode_openwebui_jwt(token, secret)
    return Identity(
        user_id=str(claims["sub"]).strip(), name=_optional(claims.get("name")), email=_optional(claims.get("email")),
        role=_optional(claims.get("role")), groups=parse_groups(claims.get("groups")), via="jwt",
    )


def identity_from_headers(request: Request) -> Identity | None:
    """The user named by plaintext X-OpenWebUI-User-* headers (Open WebUI URL-quotes the name), if any."""
    values = {attr: _optional(request.headers.get(header), quoted=True) for attr, header in USER_HEADERS.items()}
    user_id = values.pop("user_id")
    if user_id is None:
        return None
    return Identity(user_id=user_id, name=values["name"], email=values["email"], role=values["role"], via="headers")


def resolve_identity(request: Request, settings: Settings, policy: AccessPolicy | None) -> Identity:
    """Authenticate a request: the connection's key, then the user, then the user's groups.

    Groups come from the JWT claims if present, else from the groups header when headers are
    trusted, else from the policy's user -> groups map.

    Raises:
        ApiError: 401 when the credentials are missing, wrong, expired or malformed.
    """
    fingerprint = check_connection(request, settings)
    token = request.headers.get(JWT_HEADER)
    identity: Identity | None = None
    if token is not None:
        identity = identity_from_jwt(token.strip(), settings)
    elif settings.trust_user_headers:
        identity = identity_from_headers(request)
    if identity is None:
        if fingerprint is None:
            return Identity(user_id="anonymous", via="anonymous", groups=_policy_groups(policy, "anonymous", None))
        user_id = f"api-key:{fingerprint}"
        return Identity(user_id=user_id, via="api-key", groups=_policy_groups(policy, user_id, None))
    groups = identity.groups
    if not groups and settings.trust_user_headers and request.headers.get(GROUPS_HEADER):
        groups = parse_groups(request.headers[GROUPS_HEADER])
    if not groups:
        groups = _policy_groups(policy, identity.user_id, identity.email)
    return Identity(identity.user_id, identity.name, identity.email, identity.role, groups, identity.via)


def _policy_groups(policy: AccessPolicy | None, user_id: str, email: str | None) -> frozenset[str]:
    return policy.groups_of(user_id, email) if policy is not None else frozenset()


async def authenticate(request: Request) -> Identity:
    """FastAPI dependency: the caller's identity, or an `ApiError` 401 in the OpenAI shape.

    The access policy is read from `request.app.state.access_policy` when the server set it at
    start-up, else loaded once from the settings.
    """
    from server.access import get_access_policy

    policy = getattr(request.app.state, "access_policy", None) or get_access_policy()
    return resolve_identity(request, get_settings(), policy)
