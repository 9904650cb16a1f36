"""The reports: what a run found, for a person and for a machine.

It owns the conformance document (``document``: ``conformance.json``, its schema
``report.schema.json``, the problems and the baseline's view of them), its renderings
(``markdown`` and ``html``; the page's stylesheet is package data, ``report.css``) and the
load report (``load``: ``load.json`` with ``load.schema.json``, Markdown, HTML with SVG
charts).

It may import the base modules, the HTTP model (:mod:`hookproof.transport`) and the verdict
(:mod:`hookproof.checks.verdict`): a report shows outcomes, it never decides them.
"""
