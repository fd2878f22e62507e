"""IMG001/IMG002/IMG004 → pin the image to the digest its tag resolves to (safe: the image that
runs is the one recorded; only a later pull that would have brought another is refused).

`image: postgres:16.4` becomes `image: postgres:16.4@sha256:…`, keeping the tag for readers
and the quotes as written. The digest comes from a lock file or from `docker image inspect`
output (see labwarden.fix.digests); without one, nothing is changed and the summary says so.
An image written with a variable is left: the variable is where to pin it.
"""

from __future__ import annotations

from labwarden.fix._common import has_variable, service_of
from labwarden.fix.yamledit import (
    Document,
    Skip,
    anchor_name,
    describe_merge,
    has_own,
    merged_from,
    own,
    same_style,
)
from labwarden.knowledge.imageref import parse_image


def fix(doc: Document, finding, context) -> str:
    name, service = service_of(doc, finding)
    if not has_own(service, "image"):
        if merged_from(service, "image") is not None:
            raise Skip(f"`image` comes from {describe_merge(service, 'image')}; pin it there")
        raise Skip(f"service `{name}` sets no `image` in this file")
    image = own(service, "image")
    if not isinstance(image, str):
        raise Skip("`image` is not a string")
    if has_variable(image):
        raise Skip(f"`image: {image}` is written with a variable; pin it where it is set")
    if anchor_name(image):
        raise Skip(f"`image` carries the anchor `&{anchor_name(image)}`; pin it by hand")
    ref = parse_image(image)
    if ref is None:
        raise Skip(f"`{image}` is not an image reference")
    if ref.digest:
        raise Skip(f"`{image}` is already pinned by digest")
    book = getattr(context, "digests", None)
    if book is None:
        raise Skip("no lock file or `docker image inspect` output was given (--digests)")
    digest, source = book.lookup(ref)
    if digest is None:
        raise Skip(source)
    pinned = f"{image.strip()}@{digest}"
    service["image"] = same_style(image, pinned)
    doc.touch("services", name, "image")
    return f"pinned `{image.strip()}` to `{digest[:19]}…` (from {source})"
