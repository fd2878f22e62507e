"""Reading the files labwarden is pointed at: regular files only, up to a limit.

Every file labwarden reads comes from a tree someone else controls. A FIFO named
`compose.yml` (or a script without a suffix) blocks its reader until a writer comes, which
may be never; `/dev/zero` as an env file never ends; a directory or a socket cannot be read
at all. So every reader goes through `open_regular()` or `read_regular()`: the type is
checked before the file is opened (opening some devices has effects of its own), the file is
opened without blocking and checked again on the descriptor (it may have been swapped
between the two), and no more than a limit is read.

`decode_text()` turns the bytes into text the way YAML parsers and Compose do: UTF-8, with
or without a byte-order mark, or UTF-16/UTF-32 announced by theirs.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from io import BufferedReader

# Reads past what stat() announced go in pieces: files under /proc/sys refuse one huge read,
# and /proc files all announce a size of 0.
_CHUNK = 64 * 1024
MAX_CA_FILE_BYTES = 16 * 1024 * 1024   # a whole system bundle is about 200 KiB
_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                              re.DOTALL)
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"))


class NotRegularFile(OSError):
    """The path names a FIFO, socket, device or directory: not read. An OSError, so that a
    caller that reports unreadable files reports this one too, with its reason."""

    def __init__(self, path: str, kind: str):
        super().__init__(f"{kind}, not a regular file")
        self.strerror = f"{kind}, not a regular file"
        self.filename = path
        self.kind = kind


class FileTooLarge(OSError):
    """The file is over the reader's limit. `size` is None when stat() did not tell it (the
    file grew while it was read, or is a /proc file)."""

    def __init__(self, path: str, size: int | None, limit: int):
        what = f"{size / 1048576:.1f} MiB" if size is not None else "larger than that"
        super().__init__(f"over the {limit / 1048576:g} MiB limit ({what})")
        self.strerror = f"over the {limit / 1048576:g} MiB limit"
        self.filename = path
        self.size = size
        self.limit = limit


class DecodeError(ValueError):
    """The bytes are not text in an encoding YAML allows. `code` is "binary-file" (a NUL
    character: the caller says binary, not what it expected), "invalid-utf8" or
    "invalid-encoding" (UTF-16/32); `line` is the line where the text stops."""

    def __init__(self, code: str, message: str, offset: int, line: int):
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset
        self.line = line


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words ("a FIFO"); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "an unknown kind of file")


def open_regular(path: str, limit: int | None = None) -> BufferedReader:
    """The regular file at `path`, open for reading in binary. Raises NotRegularFile for
    anything else, FileTooLarge when its size is over `limit` (given), else OSError."""
    fd, _ = _open_checked(path, limit)
    return open(fd, "rb", closefd=True)  # noqa: SIM115 - the caller closes it


def _open_checked(path: str, limit: int | None) -> tuple[int, int]:
    """A descriptor of the regular file at `path` and its size, as `open_regular` checks
    them."""
    _check(path, os.stat(path), limit)  # before open(): opening a device can act on it
    # O_NONBLOCK: if a FIFO was put in its place since, opening returns at once instead of
    # waiting for a writer; fstat() below then refuses it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        _check(path, st, limit)
        os.set_blocking(fd, True)  # a regular file never blocks; reads behave as usual
        return fd, st.st_size
    except BaseException:
        os.close(fd)
        raise


def _check(path: str, st: os.stat_result, limit: int | None) -> None:
    kind = file_kind(st.st_mode)
    if kind is not None:
        raise NotRegularFile(path, kind)
    if limit is not None and st.st_size > limit:
        raise FileTooLarge(path, st.st_size, limit)


def read_regular(path: str, limit: int) -> bytes:
    """The bytes of the regular file at `path`, refused (FileTooLarge) past `limit`, raising
    NotRegularFile or OSError like `open_regular()`."""
    fd, size = _open_checked(path, limit)
    # Read from the descriptor itself: a file object around it would cost an fstat(), an
    # isatty() ioctl and an lseek() more per file, a fifth of reading a Compose file.
    try:
        data = read_at_most(fd, size, limit)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew after stat(), or stat() did not tell its size
        raise FileTooLarge(path, None, limit)
    return data


def read_at_most(fd: int, size: int, limit: int) -> bytes:
    """The first `limit + 1` bytes of the file at most (one more than allowed, so the caller
    sees that it is too large).

    `size` is what stat() reported. Asking for that (and one byte more, to notice a file
    that grew since) keeps a small file's read small: `read(limit + 1)` allocates a buffer
    of the limit for every file, mega-bytes each time.
    """
    data = _read_up_to(fd, min(size, limit) + 1)
    if len(data) <= size or len(data) > limit:
        return data
    chunks = [data]  # it grew after stat() (or is a /proc file): read on, in pieces
    total = len(data)
    while total <= limit:
        chunk = os.read(fd, min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _read_up_to(fd: int, count: int) -> bytes:
    """`count` bytes, fewer only where the file ends, as a buffered read(count) returns
    them: os.read() may return fewer, and only an empty read says the file ended."""
    data = os.read(fd, count)
    if len(data) >= count or not data:
        return data
    chunks = [data]
    total = len(data)
    while total < count:
        chunk = os.read(fd, count - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_ca_file(path: str) -> str | bytes:
    """The certificates of a CA file, for `SSLContext.load_verify_locations(cadata=…)`:
    its PEM blocks (text around them dropped: comments in bundles need not be ASCII), else
    the bytes as DER. Read here rather than by OpenSSL (`cafile=`), which would open a FIFO
    and wait for a writer. Raises OSError like `read_regular()`."""
    data = read_regular(path, MAX_CA_FILE_BYTES)
    blocks = _PEM_CERTIFICATE.findall(data)
    return b"\n".join(blocks).decode("ascii") if blocks else data


# UTF-32's marks first: UTF-32-LE's begins with UTF-16-LE's.
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))


def is_plain_utf8(data: bytes) -> bool:
    """Whether `decode_text()` reads `data` as UTF-8 from its first byte (no byte-order mark):
    then the text it returns is encoded in UTF-8 as `data` itself."""
    return not data.startswith(_BOM_MARKS)


_BOM_MARKS = tuple(bom for bom, _ in _BOMS)


def decode_text(data: bytes) -> str:
    """The text of a file, without its byte-order mark: UTF-8 unless a mark announces
    UTF-16 or UTF-32 (as YAML allows and Compose reads). Raises DecodeError for binary data
    and for bytes that are not valid in the encoding."""
    encoding, start = next(((name, len(bom)) for bom, name in _BOMS if data.startswith(bom)),
                           (None, 0)) if data.startswith(_BOM_MARKS) else (None, 0)
    unmarked = encoding is None         # then UTF-8, and its NUL bytes are looked for here
    if encoding is None:
        # Without a mark, a NUL byte is binary data (or UTF-16 that did not say so), whatever
        # else the bytes hold: say so before complaining about the UTF-8 in it.
        nul = data.find(b"\x00")
        if nul >= 0:
            raise DecodeError("binary-file", f"NUL byte at byte {nul}: binary", nul,
                              data.count(b"\n", 0, nul) + 1)
        encoding = "utf-8"
    try:
        text = data[start:].decode(encoding)
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        code = "invalid-utf8" if encoding == "utf-8" else "invalid-encoding"
        raise DecodeError(code, f"invalid {_display(encoding)} at byte {offset}", offset,
                          _line_at(data, start, offset, encoding)) from None
    # A NUL character: binary all the same. Unmarked, the text is UTF-8, where that is a NUL
    # byte, looked for above.
    nul = -1 if unmarked else text.find("\x00")
    if nul >= 0:
        offset = start + len(text[:nul].encode(encoding))
        raise DecodeError("binary-file", f"NUL character at byte {offset}: binary", offset,
                          text.count("\n", 0, nul) + 1)
    return text


def _display(encoding: str) -> str:
    return encoding.upper().replace("-LE", " LE").replace("-BE", " BE")


def _line_at(data: bytes, start: int, offset: int, encoding: str) -> int:
    """The line holding byte `offset`, counted in the text before it: a newline is not one
    byte in UTF-16 or UTF-32."""
    return data[start:offset].decode(encoding, errors="replace").count("\n") + 1
