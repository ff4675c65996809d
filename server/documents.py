"""Relais as Open WebUI's external document loader: `PUT /documents/process`.

With `CONTENT_EXTRACTION_ENGINE=external` and `EXTERNAL_DOCUMENT_LOADER_URL=<relais>/documents`, Open
WebUI sends every uploaded file here (open_webui/retrieval/loaders/external_document.py): a `PUT` of
`{url}/process` whose body is the file's bytes, with `Content-Type` (the file's type),
`Authorization: Bearer <EXTERNAL_DOCUMENT_LOADER_API_KEY>`, `X-Filename` (the URL-quoted stored name,
`<uuid>_<name>`) and, when user headers are forwarded, the user. It expects `{"page_content": str,
"metadata": {...}}` back; on an error it shows the `message` of the body to the user.

Relais extracts the text with its own Tika path (`retrievers.extract`: embedded Tika, or
TIKA_SERVER_ENDPOINT), so a confidential file never leaves the premises for extraction, and keeps the
original per user and by content hash (`relais.originals`). The body is streamed to a staging file
under its own limit (RELAIS_DOCUMENT_MAX_BYTES, not the chat's RELAIS_MAX_BODY_BYTES), and every
refusal (empty, too large, unsupported, password-protected, unreadable) names the file and leaves
nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
from pathlib import Path, PurePath
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from relais.originals import StoredOriginal, keep_original, prune_originals, staging_file
from relais.settings import get_settings
from retrievers.extract import SUPPORTED_SUFFIXES, Extracted, ExtractionError, extract
from server.auth import Identity, authenticate
from server.errors import ApiError
from server.limits import enforce_rate_limit

logger = logging.getLogger(__name__)

DOCUMENTS_PREFIX = "/documents/"  # server.limits lets these routes read their body under their own limit
FILENAME_HEADER = "X-Filename"
# Open WebUI stores an upload as "<uuid>_<name>" and sends that basename: the user knows the name alone.
_STORED_PREFIX = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_", re.IGNORECASE)
_PDF_ENCRYPTED = re.compile(rb"/Encrypt\b")

router = APIRouter()


def display_name(header: str | None) -> str:
    """The file's name as the user gave it, from the `X-Filename` header."""
    name = PurePath(unquote(header or "").replace("\\", "/")).name.strip()
    return _STORED_PREFIX.sub("", name) or "document"


def file_suffix(name: str, content_type: str | None) -> str | None:
    """The extension the extractor reads the type from: the name's, else the declared type's; None if unsupported."""
    suffix = PurePath(name).suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return suffix
    declared = (content_type or "").split(";")[0].strip().lower()
    guessed = mimetypes.guess_extension(declared) if declared else None
    return guessed if guessed in SUPPORTED_SUFFIXES else None


def refused(status: int, message: str, code: str) -> ApiError:
    """A refusal Open WebUI shows to the user (it reads the body's `message`)."""
    return ApiError(status, message, error_type="invalid_request_error", code=code)


@router.put(DOCUMENTS_PREFIX + "process")
async def process_document(request: Request, identity: Annotated[Identity, Depends(authenticate)]) -> dict[str, Any]:
    """Extract an uploaded file's text for Open WebUI and keep the original for the user."""
    enforce_rate_limit(request, identity)
    name = display_name(request.headers.get(FILENAME_HEADER))
    content_type = request.headers.get("content-type")
    suffix = file_suffix(name, content_type)
    if suffix is None:
        kinds = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise refused(415, f"« {name} » : type de fichier non pris en charge ({content_type or 'inconnu'}). "
                           f"Types acceptés : {kinds}.", "unsupported_file_type")
    staged = staging_file(suffix)
    try:
        sha256 = await receive_file(request, name, staged)
        extracted = await run_in_threadpool(read_text, staged, name)
        kept = await run_in_threadpool(keep_original, identity.user_id, name, staged, sha256, content_type)
    finally:
        staged.unlink(missing_ok=True)  # still there only when the upload was refused
    await run_in_threadpool(prune_originals)
    logger.info("document %s (%s, %d bytes) extracted for %s", kept.sha256[:12], suffix, kept.size, identity.user_id)
    return loader_answer(extracted, kept, content_type)


async def receive_file(request: Request, name: str, staged: Path) -> str:
    """Stream the body into `staged` under RELAIS_DOCUMENT_MAX_BYTES; return its SHA-256.

    Raises:
        ApiError: 413 over the limit (declared or counted), 400 for an empty file.
    """
    limit = get_settings().document_max_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(name, int(declared), limit)
    digest, size = hashlib.sha256(), 0
    with staged.open("wb") as file:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:  # sent without a length: stop reading at the limit
                raise too_large(name, size, limit, counted=True)
            digest.update(chunk)
            file.write(chunk)
    if size == 0:
        raise refused(400, f"« {name} » est vide (0 octet) : rien à extraire.", "empty_file")
    return digest.hexdigest()


def too_large(name: str, size: int, limit: int, *, counted: bool = False) -> ApiError:
    """The 413 naming the file and both sizes."""
    what = f"dépasse {_megabytes(size)}" if counted else f"fait {_megabytes(size)}"
    return ApiError(413, f"« {name} » {what}, au-delà de la limite de {_megabytes(limit)} "
                         f"(RELAIS_DOCUMENT_MAX_BYTES) : découpez le document ou compressez-le.",
                    error_type="invalid_request_error", code="file_too_large", headers={"Connection": "close"})


def read_text(path: Path, name: str) -> Extracted:
    """The file's text through Relais's Tika path.

    Raises:
        ApiError: 422 for a password-protected PDF or a file with no readable text, naming the file.
    """
    try:
        return extract(path)
    except ExtractionError as error:
        detail = str(error).replace(str(path), "").lstrip(": ")  # the staging path means nothing to the user
        if path.suffix == ".pdf" and _PDF_ENCRYPTED.search(path.read_bytes()):
            raise refused(422, f"« {name} » est protégé par un mot de passe : enregistrez-en une copie sans "
                               f"protection, puis déposez-la à nouveau.", "encrypted_file") from error
        raise refused(422, f"« {name} » est illisible : {detail}. Vérifiez que le fichier s'ouvre, ou déposez-le "
                           f"dans un autre format.", "unreadable_file") from error


def loader_answer(extracted: Extracted, kept: StoredOriginal, content_type: str | None) -> dict[str, Any]:
    """What Open WebUI's ExternalDocumentLoader reads: the text, and metadata it stores with the file.

    Metadata values stay scalars: Open WebUI copies them into its vector store, which refuses lists.
    """
    metadata: dict[str, Any] = {"relais_sha256": kept.sha256, "relais_original": kept.name, "size": kept.size}
    if content_type:
        metadata["Content-Type"] = content_type
    if extracted.pages:
        metadata["pages"] = len(extracted.pages)
    return {"page_content": extracted.text, "metadata": metadata}


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} Mo".replace(".", ",")
