"""Rules about the images services run: floating tags, digest pinning, trusted registries.

A service that builds its image (`build:`) is not judged here: its `image:` names the build's
output, and pinning is the Dockerfile's `FROM` line's business. The exception is
`pull_policy: always`, where Compose pulls that name before every start.
"""

from __future__ import annotations

from labwarden.model import Hit, Impact, Severity
from labwarden.knowledge.imageref import (
    ImageRef, is_private_registry, parse_image, registry_allowed)
from labwarden.rules._memo import for_last
from labwarden.rules.registry import prover, rule
from labwarden.sources.compose.model import Service

OWASP_SUPPLY_CHAIN = "OWASP Docker Security Cheat Sheet, rule 13 (supply chain)"


@for_last       # four rules ask in turn about the same service: it is worked out once
def _pulled_image(service: Service) -> tuple[ImageRef, str] | None:
    """The image Compose pulls for the service, parsed, with its evidence text; None when the
    service builds its own, has no image, or the image is empty or malformed (an unset
    variable: the loader has already reported that gap)."""
    image = service.raw.get("image")
    if not isinstance(image, str):
        return None
    if service.raw.get("build") is not None and \
            str(service.raw.get("pull_policy") or "").lower() != "always":
        return None
    ref = parse_image(image)
    if ref is None:
        return None
    written = (service.raw.written or {}).get("image")
    evidence = f"image: {image}" + (f" (written `{written}`)" if written else "")
    return ref, evidence


@rule("IMG001", "image-latest-tag", Severity.MEDIUM, title="Image on `latest` or untagged",
      on=Service, checklist=["4.1.2"],
      refs=[OWASP_SUPPLY_CHAIN, "CWE-1357"],
      impact=Impact("service", (1, 3)))
def image_latest_tag(service: Service, settings):
    """Reports images with no tag (Docker pulls `latest`) or the `latest` tag. A digest
    (`@sha256:…`) pins the image whatever the tag says. Tags that follow a release channel
    (`main`, `release`, `stable-latest`) or a major version (`:2`) are IMG004's, so each
    can be waived on its own.

    Why it matters:
    A floating tag is a different image on every pull: a routine `docker compose pull` can
    bring in a major upgrade that migrates (or breaks) the data volume, or a compromised
    release, and there is no record of which version ran yesterday to roll back to.

    Example:
    ```yaml
    services:
      app:
        image: vaultwarden/server   # no tag: whatever `latest` is today
      db:
        image: postgres:latest
    ```

    Fix:
    Pin the version you tested, and update it deliberately (Renovate or Dependabot can
    propose the bumps): `image: postgres:16.4`. Add the digest for an immutable pin:
    `image: postgres:16.4@sha256:<digest>`.
    """
    pulled = _pulled_image(service)
    if pulled is None:
        return
    ref, evidence = pulled
    kind = ref.float_kind
    if kind == "untagged":
        message = f"`{ref.name}` has no tag: Docker pulls `latest`, whatever it is that day"
    elif kind == "latest":
        message = f"`{ref.name}:latest` is a floating tag: each pull may bring another version"
    else:
        return
    yield Hit(message, service.loc("image"), resource=f"image:{ref.name}", evidence=evidence,
              fix=_pin_fix(ref))


def _pin_fix(ref: ImageRef) -> str:
    return (f"pin the version you tested: `image: {ref.name}:<version>` (for an immutable "
            f"pin, `{ref.name}:<version>@sha256:<digest>`)")


@rule("IMG004", "image-floating-channel-tag", Severity.MEDIUM,
      title="Image on a release-channel or major-version tag", on=Service,
      checklist=["4.1.2"], refs=[OWASP_SUPPLY_CHAIN, "CWE-1357"],
      impact=Impact("service", (1, 3)))
def image_floating_channel_tag(service: Service, settings):
    """Reports images on a tag that follows a release channel rather than naming a version
    (`main`, `release`, `stable`, `lts`, `alpine`, a `-latest` suffix such as
    `stable-latest`), and, at LOW, a bare major version (`:2`, `:v3`, `postgres:16`), which
    brings every minor release. A digest (`@sha256:…`) pins the image whatever the tag
    says. `latest` and untagged images are IMG001's.

    Why it matters:
    A channel tag moves with every release exactly as `latest` does. A major tag moves less,
    but a minor release can still change defaults or migrate data, and there is no record
    of which version ran yesterday.

    Example:
    ```yaml
    services:
      photos:
        image: ghcr.io/immich-app/immich-server:release
      db:
        image: postgres:16
    ```

    Fix:
    Pin the version you tested (`image: postgres:16.4`) and let Renovate or Dependabot
    propose the bumps; add the digest for an immutable pin.
    """
    pulled = _pulled_image(service)
    if pulled is None:
        return
    ref, evidence = pulled
    kind = ref.float_kind
    if kind == "channel":
        yield Hit(f"`{ref.name}:{ref.tag}` follows a release channel rather than naming a "
                  "version: each pull may bring another version", service.loc("image"),
                  resource=f"image:{ref.name}", evidence=evidence, fix=_pin_fix(ref))
    elif kind == "major":
        yield Hit(f"`{ref.name}:{ref.tag}` names only a major version: each pull may bring "
                  "another minor release", service.loc("image"),
                  resource=f"image:{ref.name}", evidence=evidence, severity=Severity.LOW,
                  fix=_pin_fix(ref))


@rule("IMG002", "image-not-digest-pinned", Severity.LOW, title="Image not pinned by digest",
      on=Service, checklist=["4.1.2"],
      refs=[OWASP_SUPPLY_CHAIN, "CWE-1357", "SLSA: pin dependencies by digest"],
      impact=Impact("service", (1, 3)))
def image_not_digest_pinned(service: Service, settings):
    """Reports images pinned by a version tag but not by digest, when the policy asks for
    digests (`policy: require_digest: true` in labwarden.yaml; off by default, since a
    version tag already satisfies the checklist). Floating tags are IMG001's and IMG004's.

    Why it matters:
    Tags are mutable: whoever controls the repository can push different content under
    `16.4` tomorrow, and a compromised publisher account or registry serves it to every
    host that pulls. A digest names exactly one image; anything else fails to pull.

    Example:
    ```yaml
    services:
      db:
        image: postgres:16.4
    ```

    Fix:
    Append the digest of the image you tested (`docker buildx imagetools inspect
    postgres:16.4` prints it), keeping the tag for readers, and let Renovate update both:
    `image: postgres:16.4@sha256:<digest>`.
    """
    if not settings.require_digest:
        return
    pulled = _pulled_image(service)
    if pulled is None:
        return
    ref, evidence = pulled
    if ref.pinned_by_digest or ref.floating:
        return
    yield Hit(f"`{ref.name}:{ref.tag}` is pinned by tag but not by digest: tags are mutable, "
              "and the registry may serve different content under the same tag",
              service.loc("image"), resource=f"image:{ref.name}", evidence=evidence,
              fix=f"append the digest of the tested image: `image: {ref.name}:{ref.tag}"
                  f"@sha256:<digest>` (`docker buildx imagetools inspect {ref.name}:{ref.tag}`"
                  " prints it)")


@rule("IMG003", "image-untrusted-registry", Severity.MEDIUM,
      title="Image from a registry outside the trusted list", on=Service,
      checklist=["4.1.1"],
      refs=["CIS Docker Benchmark v1.6 4.2", OWASP_SUPPLY_CHAIN, "CWE-829"],
      impact=Impact("service", (1, 5)))
def image_untrusted_registry(service: Service, settings):
    """Reports images pulled from a registry that is not in the policy's trusted registries
    (`policy: trusted_registries:` in labwarden.yaml; by default Docker Hub, GHCR, LSCR,
    Quay, MCR, GCR, ECR Public, GitLab, Codeberg, Elastic and registry.k8s.io). An entry
    also trusts its subdomains; an entry with a path (`ghcr.io/myorg`) only that namespace.

    Why it matters:
    The registry decides what code runs: an image from an unknown host has no provenance
    the team has vetted, may vanish or change hands, and a typo'd or look-alike registry is
    a classic supply-chain trap. A private registry on the LAN is reported at low severity:
    it is trusted once it is listed.

    Example:
    ```yaml
    services:
      app:
        image: registry.example-mirror.net/team/app:2.1
    ```

    Fix:
    Pull the image from its publisher's registry, or, when the registry is yours or vetted,
    add it to the allow-list:
    ```yaml
    policy:
      trusted_registries: [docker.io, ghcr.io, registry.home.lan]
    ```
    """
    pulled = _pulled_image(service)
    if pulled is None:
        return
    ref, evidence = pulled
    if registry_allowed(ref, settings.trusted_registries):
        return
    private = is_private_registry(ref)
    where = "a private registry" if private else "a registry"
    yield Hit(f"`{ref.name}` comes from {where} (`{ref.registry}`) that is not in the "
              "trusted registries", service.loc("image"), resource=f"image:{ref.name}",
              evidence=evidence, severity=Severity.LOW if private else None,
              fix=f"pull the image from a trusted registry, or if `{ref.registry}` is vetted, "
                  f"add `{ref.host}` to `policy: trusted_registries:` in labwarden.yaml")


# --- provers: what shows the items hold ---------------------------------------------------

@prover("IMG001", "4.1.2")
def image_pinned(service: Service, settings):
    pulled = _pulled_image(service)
    if pulled is None or pulled[0].floating:
        return None          # built here, unset or floating: not shown to be pinned
    ref = pulled[0]
    return f"pinned: {ref.name}" + (f":{ref.tag}" if ref.tag else "") + \
        (" by digest" if getattr(ref, "digest", None) else "")


@prover("IMG003", "4.1.1")
def image_from_trusted_registry(service: Service, settings):
    pulled = _pulled_image(service)
    if pulled is None or not registry_allowed(pulled[0], settings.trusted_registries):
        return None
    return f"from {pulled[0].registry}, a trusted registry"
