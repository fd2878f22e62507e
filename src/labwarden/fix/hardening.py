"""CMP012 hardening-options-missing → `security_opt: [no-new-privileges:true]` (safe).

Of the options CMP012 asks for, only no-new-privileges is added: it stops setuid binaries
from raising privileges, which a service does not do in normal operation. `cap_drop: [ALL]`,
`read_only: true` and a non-root `user` change what the container may do and must be
tested with the service, so the finding stays until they are added by hand; the summary
says which remain.

Not for every image (`knowledge.privileges`): one that needs sudo or file capabilities
(code-server, a `SUDO_PASSWORD`…) stops working under no-new-privileges, so the fix is
skipped with that reason; for one that needs capabilities back after `cap_drop: [ALL]`
(s6-overlay images dropping to PUID/PGID, VPNs), the summary names them.
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


def _variables(doc: Document, service) -> set[str]:
    """The environment variable names the service sets, in the file and its env_files."""
    import os

    from labwarden.sources._read import read_regular

    names: set[str] = set()
    environment = service.get("environment")
    if isinstance(environment, dict):
        names |= {str(k) for k in environment}
    elif isinstance(environment, list):
        names |= {str(e).split("=", 1)[0] for e in environment}
    files = service.get("env_file")
    files = [files] if isinstance(files, str) else files if isinstance(files, list) else []
    for entry in files:
        path = entry.get("path") if isinstance(entry, dict) else entry
        if not isinstance(path, str) or "$" in path:
            continue
        try:
            text = read_regular(os.path.join(os.path.dirname(doc.path), path),
                                1 << 20).decode("utf-8", "replace")
        except (OSError, ValueError):
            continue
        for line in text.splitlines():
            line = line.strip().removeprefix("export ")
            if line and not line.startswith("#") and "=" in line:
                names.add(line.split("=", 1)[0].strip())
    return names


def _needs(doc: Document, service) -> list:
    from labwarden.knowledge.privileges import needs

    image = service.get("image")
    return needs(None if image is None else str(image), _variables(doc, service))


def fix(doc: Document, finding, context) -> str:
    name, service = service_of(doc, finding)
    needs = _needs(doc, service)
    caps = sorted({c for n in needs for c in n.caps})
    rest = _remaining(finding)
    if caps and "cap_drop" in rest:
        why = next(n.why for n in needs if n.caps)
        rest = rest.replace("cap_drop: [ALL]", f"cap_drop: [ALL] with cap_add: "
                            f"[{', '.join(caps)}] ({why})", 1)
    if "no-new-privileges" not in finding.evidence:
        raise Skip(f"nothing safe to add: {rest} change what the container may "
                   "do; add them by hand and test the service")
    if "no-new-privileges (set to false)" in finding.evidence:
        raise Skip("no-new-privileges is set to false explicitly; change it by hand")
    blocking = next((n for n in needs if n.nnp), None)
    if blocking is not None:
        raise Skip(f"not safe for this service: {blocking.why}; leave no-new-privileges off "
                   "or test it by hand")
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
