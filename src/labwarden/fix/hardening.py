"""CMP012 hardening-options-missing → `security_opt: [no-new-privileges:true]` (safe).

Of the options CMP012 asks for, only no-new-privileges is added: it stops setuid binaries
from raising privileges, which a service does not do in normal operation. `cap_drop: [ALL]`,
`read_only: true` and a non-root `user` change what the container may do and must be
tested with the service, so the finding stays until they are added by hand; the summary
says which remain.
"""

from __future__ import annotations

from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.scalarstring import ScalarString

from labwarden.fix._common import AFTER_IDENTITY, require_service_line, service_of
from labwarden.fix.yamledit import (
    Document,
    Skip,
    append_item,
    describe_merge,
    has_own,
    insert_after,
    merged_from,
    own,
)

ENTRY = "no-new-privileges:true"


def _remaining(finding) -> str:
    evidence = finding.evidence.removeprefix("missing: ")
    items = [part.rsplit(" [", 1)[0] for part in evidence.split("; ") if part]
    return ", ".join(i for i in items if not i.startswith("no-new-privileges")) or "nothing"


def fix(doc: Document, finding, context) -> str:
    if "no-new-privileges" not in finding.evidence:
        raise Skip(f"nothing safe to add: {_remaining(finding)} change what the container may "
                   "do; add them by hand and test the service")
    if "no-new-privileges (set to false)" in finding.evidence:
        raise Skip("no-new-privileges is set to false explicitly; change it by hand")
    name, service = service_of(doc, finding)
    rest = _remaining(finding)
    after = f" (still missing, to test by hand: {rest})" if rest != "nothing" else ""
    if has_own(service, "security_opt"):
        options = own(service, "security_opt")
        if not isinstance(options, CommentedSeq):
            raise Skip("`security_opt` is not a list")
        if doc.index.shared(options):
            raise Skip("`security_opt` is an anchor used elsewhere; add no-new-privileges "
                       "there by hand")
        styled = next((type(o) for o in options if isinstance(o, ScalarString)), None)
        append_item(doc, options, styled(ENTRY) if styled else ENTRY)
        doc.touch_node(options)
        return f"added `{ENTRY}` to `security_opt`{after}"
    if merged_from(service, "security_opt") is not None:
        raise Skip(f"`security_opt` comes from {describe_merge(service, 'security_opt')}; a "
                   "list here would replace it: add no-new-privileges there by hand")
    require_service_line(doc, finding, name)
    options = CommentedSeq([ENTRY])
    options.fa.set_flow_style()
    insert_after(doc, service, AFTER_IDENTITY, "security_opt", options)
    doc.touch("services", name, "security_opt")
    return f"added `security_opt: [{ENTRY}]`{after}"
