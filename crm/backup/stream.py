"""The backup file's encryption: AES-256-GCM over the stream, in chunks.

A header, then the chunks. The header: MAGIC, the format version, the chunk
size, a random salt, a random nonce prefix and the fingerprint of the key
(never the key). The key of the file is HKDF-SHA256 of BACKUP_KEY with the
salt, so no two files share one. Each chunk seals CHUNK_SIZE bytes of the
stream (the last one fewer, maybe none) with nonce = prefix | chunk number,
and associated data = header | whether it is the last chunk: a changed byte,
a chunk moved, dropped or added and a file cut short at a chunk's end all fail
to authenticate. Writing and reading hold two chunks at most in memory.
"""

from __future__ import annotations

import hashlib
import os
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"KEHUBAK\0"
VERSION = 1
CHUNK_SIZE = 1 << 20
TAG_SIZE = 16
SALT_SIZE = 16
PREFIX_SIZE = 8  # + a 4-byte chunk number: AES-GCM's 12-byte nonce
FINGERPRINT_SIZE = 8
HEADER_SIZE = len(MAGIC) + 1 + 4 + SALT_SIZE + PREFIX_SIZE + FINGERPRINT_SIZE
MAX_CHUNKS = 1 << 32


class BackupUnreadable(Exception):
    """A backup file that cannot be read: not one, another key, damaged, cut short.
    Its message is one sentence for the person restoring."""


def key_fingerprint(secret: str) -> str:
    """16 hex digits that tell keys apart without revealing them (the keys are
    long random secrets, so a hash of one gives nothing away)."""
    return hashlib.sha256(b"kehu key fingerprint\0" + secret.encode()).hexdigest()[:16]


def _file_key(secret: str, salt: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"kehu backup file key v1"
    ).derive(secret.encode())


def _nonce(prefix: bytes, number: int) -> bytes:
    if number >= MAX_CHUNKS:
        raise ValueError("a backup file holds at most 2**32 chunks")
    return prefix + number.to_bytes(4, "big")


class EncryptingWriter:
    """A write-only file object: what is written goes out sealed, chunk by chunk;
    `close()` seals the last chunk (a file without it reads as cut short)."""

    def __init__(self, out: BinaryIO, secret: str, *, chunk_size: int = CHUNK_SIZE):
        salt, self._prefix = os.urandom(SALT_SIZE), os.urandom(PREFIX_SIZE)
        self.header = (
            MAGIC
            + bytes((VERSION,))
            + chunk_size.to_bytes(4, "big")
            + salt
            + self._prefix
            + bytes.fromhex(key_fingerprint(secret))
        )
        self._out, self._chunk_size = out, chunk_size
        self._aead = AESGCM(_file_key(secret, salt))
        self._buffer = bytearray()
        self._number = 0
        self._closed = False
        out.write(self.header)
        self.size = len(self.header)  # bytes written so far

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) > self._chunk_size:
            self._seal(bytes(self._buffer[: self._chunk_size]), last=False)
            del self._buffer[: self._chunk_size]
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if not self._closed:
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._closed = True
            self._out.flush()

    def _seal(self, plain: bytes, *, last: bool) -> None:
        nonce = _nonce(self._prefix, self._number)
        sealed = self._aead.encrypt(nonce, plain, self.header + (b"\1" if last else b"\0"))
        self._out.write(sealed)
        self.size += len(sealed)
        self._number += 1


class DecryptingReader:
    """A read-only file object over an encrypted backup: `read(n)` gives the
    stream, each chunk authenticated before any of it is returned; the end is
    the end only once the last chunk authenticated (BackupUnreadable otherwise)."""

    def __init__(self, source: BinaryIO, secret: str):
        header = source.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE or not header.startswith(MAGIC):
            raise BackupUnreadable("This is not a Kehu backup file.")
        version = header[len(MAGIC)]
        if version != VERSION:
            raise BackupUnreadable(
                f"This backup file has format version {version}, which this version of Kehu "
                "cannot read."
            )
        at = len(MAGIC) + 1
        self._chunk_size = int.from_bytes(header[at : at + 4], "big")
        at += 4
        salt = header[at : at + SALT_SIZE]
        at += SALT_SIZE
        self._prefix = header[at : at + PREFIX_SIZE]
        at += PREFIX_SIZE
        fingerprint = header[at:].hex()
        if fingerprint != key_fingerprint(secret):
            raise BackupUnreadable(
                f"This backup was encrypted with another BACKUP_KEY (key fingerprint "
                f"{fingerprint}; the configured key's is {key_fingerprint(secret)})."
            )
        if not 0 < self._chunk_size <= 64 * CHUNK_SIZE:
            raise BackupUnreadable("The backup file is damaged: its header does not hold.")
        self.header = header
        self._source = source
        self._aead = AESGCM(_file_key(secret, salt))
        self._number = 0
        self._ahead = self._source.read(self._chunk_size + TAG_SIZE)
        self._plain = b""
        self._offset = 0
        self.finished = False  # the last chunk authenticated

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        parts = []
        wanted = size if size is not None and size >= 0 else None
        while wanted is None or wanted > 0:
            if self._offset >= len(self._plain):
                if self.finished:
                    break
                self._plain, self._offset = self._next_chunk(), 0
                continue
            end = len(self._plain) if wanted is None else self._offset + wanted
            part = self._plain[self._offset : end]
            self._offset += len(part)
            parts.append(part)
            if wanted is not None:
                wanted -= len(part)
        return b"".join(parts)

    def _next_chunk(self) -> bytes:
        sealed = self._ahead
        if not sealed:
            raise BackupUnreadable("The backup file is cut short: its last part is missing.")
        self._ahead = self._source.read(self._chunk_size + TAG_SIZE)
        last = not self._ahead
        nonce = _nonce(self._prefix, self._number)
        try:
            plain = self._aead.decrypt(nonce, sealed, self.header + (b"\1" if last else b"\0"))
        except InvalidTag:
            if last and self._opens_as_middle(nonce, sealed):
                raise BackupUnreadable(
                    "The backup file is cut short: its last part is missing."
                ) from None
            raise BackupUnreadable(
                f"The backup file is damaged or was changed (part {self._number + 1} does "
                "not authenticate)."
            ) from None
        self._number += 1
        self.finished = last
        return plain

    def _opens_as_middle(self, nonce: bytes, sealed: bytes) -> bool:
        try:
            self._aead.decrypt(nonce, sealed, self.header + b"\0")
        except InvalidTag:
            return False
        return True

    def drain(self) -> None:
        """Read to the end, so the last chunk is authenticated (a reader that
        stops early, tar at its end marker, would not notice what follows)."""
        while self.read(self._chunk_size):
            pass
        if not self.finished:
            raise BackupUnreadable("The backup file is cut short: its last part is missing.")
