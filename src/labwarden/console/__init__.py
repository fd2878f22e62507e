"""The web console (`labwarden serve`): the checklist walk, sign-offs, records, findings and
history of a lab, in a browser, over the same files and store as the CLI.

Modules, one job each: `lab` (the lab as the CLI's `LabContext` sees it, the cached audit and
the background re-audits), `auth` (users, token, sessions, CSRF), `guard` (security headers,
body limit, Host check), `pages` (what is read), `writes` (what is written: every write goes
through the CLI's own modules), `charts` (inline SVG), `auditlog` (who wrote what) and `app`
(the Starlette application). Starlette and uvicorn are the optional extra `console`.
"""
