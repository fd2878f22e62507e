"""Reading a file of known size up to a limit, without paying for the limit."""

from __future__ import annotations

from io import BufferedIOBase


def read_at_most(handle: BufferedIOBase, size: int, limit: int) -> bytes:
    """The first `limit + 1` bytes of the file at most (one more than allowed, so the caller
    sees that it is too large), the way `handle.read(limit + 1)` returns them.

    `size` is what stat() reported. Asking for that (and one byte more, to notice a file
    that grew since) keeps a small file's read small: `read(limit + 1)` allocates a buffer
    of the limit for every file, mega-bytes each time.
    """
    data = handle.read(min(size, limit) + 1)
    if len(data) > size and len(data) <= limit:  # it grew after stat(): read on to the limit
        data += handle.read(limit + 1 - len(data))
    return data
