"""SSH's wire encodings (RFC 4251 5): what both the plaintext start of the protocol
(`ssh_wire`) and the key exchange (`ssh_crypto`) read and write. Standard library only, so
that importing the SSH facts costs nothing."""

from __future__ import annotations

import struct


class ProtocolError(Exception):
    """The server said something an SSH client cannot go on from."""


def string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def mpint(value: int) -> bytes:
    if value == 0:
        return string(b"")
    # a leading 0 when the top bit is set
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return string(raw)


def namelist(names) -> bytes:
    return string(",".join(names).encode())


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, count: int) -> bytes:
        if count < 0 or self.pos + count > len(self.data):
            raise ProtocolError("truncated message")
        chunk = self.data[self.pos:self.pos + count]
        self.pos += count
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def uint32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def string(self) -> bytes:
        return self.take(self.uint32())

    def mpint(self) -> int:
        return int.from_bytes(self.string(), "big", signed=True)

    def namelist(self) -> list[str]:
        text = self.string().decode("ascii", "replace")
        return [name for name in text.split(",") if name]
