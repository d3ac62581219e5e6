"""Consent receipts: ISO/IEC TS 27560 consent records in DPV JSON-LD, signed with Ed25519.

A receipt is written for every consent event (given, renewed, withdrawn, expired).  Its fields
follow ISO/IEC TS 27560:2023's consent record (identifier, schema version, the data subject,
the controller, the purposes and processing, the personal data, the duration, the status, the
notice shown, the event), written with the W3C Data Privacy Vocabulary (``dpv:``).  The hub
signs the canonical JSON of the whole record (keys sorted, no spaces, UTF-8) with its Ed25519
key; ``proof`` carries the signature and the public key, and the record's SHA-256 is anchored
in the audit chain (``mydata.receipt_issued``), so a receipt can be checked without the hub
(``verify``, ``bitgoeul mydata verify-receipt``): any change to any field breaks the signature.

What it does not prove by itself: that the key is the hub's.  Give ``verify`` the hub's public
key (``bitgoeul mydata receipt-key``) to pin it; without it the check proves only that the
record is unchanged since whoever holds the embedded key signed it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from bitgoeul.messages import msg

SCHEMA = "ISO/IEC TS 27560:2023"
CONTEXT: list[Any] = [
    "https://w3id.org/dpv/2.0/dpv.jsonld",
    {
        "dpv": "https://w3id.org/dpv#",
        "bitgoeul": "https://bitgoeul.kr/ns/mydata#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    },
]
STATUS = {
    "given": "dpv:ConsentGiven",
    "renewed": "dpv:RenewedConsentGiven",
    "withdrawn": "dpv:ConsentWithdrawn",
    "expired": "dpv:ConsentExpired",
}
KEY_FILE = "mydata_receipt_key.pem"


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "urn:bitgoeul:mydata:key:" + hashlib.sha256(raw).hexdigest()[:32]


def public_key_text(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def signing_key(data_dir: Path) -> Ed25519PrivateKey:
    """The hub's receipt key, made on first use in the data directory (mode 0600)."""
    path = data_dir / KEY_FILE
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 key")
    return loaded


def sign(record: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The record with its ``proof``: the signature of its canonical JSON."""
    body = {k: v for k, v in record.items() if k != "proof"}
    public = key.public_key()
    return {
        **body,
        "proof": {
            "type": "Ed25519Signature2020",
            "verificationMethod": key_id(public),
            "publicKeyBase64": public_key_text(public),
            "proofPurpose": "assertionMethod",
            "proofValue": base64.b64encode(key.sign(canonical(body))).decode(),
        },
    }


def digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(document)).hexdigest()


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: str
    key: str = ""
    sha256: str = ""


def verify(document: Any, *, trusted_key: str | None = None) -> Verification:
    """Check a receipt offline: its signature over every other field, its key's id, and (if
    given, base64 of the raw 32-byte key) that the hub's key signed it."""
    if not isinstance(document, dict):
        return Verification(False, msg("A receipt is a JSON object; this is not one."))
    proof = document.get("proof")
    if not isinstance(proof, dict):
        return Verification(False, msg("The receipt has no 'proof': it was never signed."))
    try:
        raw_key = base64.b64decode(str(proof.get("publicKeyBase64", "")), validate=True)
        signature = base64.b64decode(str(proof.get("proofValue", "")), validate=True)
        public = Ed25519PublicKey.from_public_bytes(raw_key)
    except ValueError:
        return Verification(
            False, msg("The receipt's proof holds no readable Ed25519 key or signature.")
        )
    if proof.get("verificationMethod") != key_id(public):
        return Verification(False, msg("The proof's key id does not match its public key."))
    if trusted_key is not None and public_key_text(public) != trusted_key.strip():
        return Verification(
            False, msg("The receipt was signed by another key than the hub's key you gave.")
        )
    body = {k: v for k, v in document.items() if k != "proof"}
    try:
        public.verify(signature, canonical(body))
    except InvalidSignature:
        return Verification(
            False,
            msg("The signature does not match: a field of this receipt was changed after signing."),
        )
    return Verification(
        True,
        msg("The receipt is intact: signed by key {key}.", key=key_id(public)),
        key=key_id(public),
        sha256=digest(document),
    )
