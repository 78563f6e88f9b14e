"""``imds-iac report --format html``: the readiness report (:mod:`.readiness`) as one
self-contained page a platform team can hand around — inline CSS, an inline SVG chart (stacked
bars per directory, module and stack: secure, weak, unknown; hazards beside them), no script and
no URL: a Content-Security-Policy of ``default-src 'none'`` keeps any browser from fetching
anything while it shows the page. Every text from the files scanned is escaped twice: control
characters first (:func:`~imds_iac_checks.report.escape.escape`), then HTML."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TextIO

from imds_iac_checks.report import readiness_guardrails
from imds_iac_checks.report.escape import escape
from imds_iac_checks.report.readiness import (
    FIX_MANUAL,
    FIX_SAFE,
    FIX_UNSAFE,
    SECURE,
    Readiness,
    state_text,
)

# Bars drawn at most (one per group); the table lists every group.
CHART_ROWS = 60
# Rows of each table at most (a page of a few megabytes still opens quickly).
TABLE_ROWS = 2000

Writer = Callable[[str], object]

_COLOURS = {"secure": "#2e7d32", "weak": "#e65100", "unknown": "#757575", "hazard": "#b71c1c"}

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  margin: 0; background: #f6f8fa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 32px 0 8px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.verdict { font-size: 16px; font-weight: 600; margin: 8px 0 16px; }
.totals { display: flex; flex-wrap: wrap; gap: 8px; margin: 0; padding: 0; list-style: none; }
.totals li { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; min-width: 96px; }
.totals .n { display: block; font-size: 22px; font-weight: 700; }
.secure .n { color: #2e7d32; } .weak .n { color: #e65100; } .unknown .n { color: #616161; }
.hazard .n { color: #b71c1c; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.msg { word-break: break-word; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px;
  overflow-x: auto; white-space: pre; }
.legend { display: flex; gap: 16px; font-size: 13px; margin: 4px 0; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
.note { color: #57606a; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; fill: #1f2328; }
@media print { body { background: #fff; } main { padding: 0; } }
"""


def _t(text: object) -> str:
    """Text for an element or attribute: control characters escaped, then HTML."""
    return html.escape(escape(str(text)), quote=True)


def _verdict(text: str) -> str:
    """The verdict with its `code` spans as <code>."""
    parts = text.split("`")
    return "".join(f"<code>{_t(p)}</code>" if i % 2 else _t(p) for i, p in enumerate(parts))


def _where(path: str, line: int) -> str:
    return _t(f"{path}:{line}" if line > 0 else path)


_FIX = {
    FIX_SAFE: "imds-iac fix",
    FIX_UNSAFE: "imds-iac fix --unsafe-fixes",
    FIX_MANUAL: "by hand",
    "": "",
}


def write(model: Readiness, out: TextIO) -> None:
    from imds_iac_checks import __version__

    c, f = model.counts, model.fixes
    w = out.write
    w('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    w(
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'\">\n"
    )
    w('<meta name="viewport" content="width=device-width, initial-scale=1">\n')
    w("<title>IMDSv2 migration readiness</title>\n")
    w(f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n")
    w("<h1>IMDSv2 migration readiness</h1>\n")
    w(f'<p class="verdict" id="verdict">{_verdict(model.verdict)}</p>\n')
    w('<ul class="totals" id="totals">\n')
    for cls, number, label in (
        ("", c.targets, "targets"),
        ("secure", c.secure, "secure"),
        ("weak", c.weak, "weak"),
        ("unknown", c.unknown, "unknown"),
        ("hazard" if c.hazards else "", c.hazards, "hazards"),
        ("hazard" if c.blocked else "", c.blocked, "blocked targets"),
        ("", f.safe, "fixed by imds-iac fix"),
        ("", f.unsafe, "only with --unsafe-fixes"),
        ("", f.manual, "by hand"),
    ):
        w(f'<li class="{cls}"><span class="n">{number:,}</span>{_t(label)}</li>\n')
    w("</ul>\n")
    if model.errors:
        w(
            f'<p class="note"><strong>{len(model.errors):,} files or parts of files could not '
            "be scanned</strong>: the report is incomplete (see <em>Not scanned</em>).</p>\n"
        )
    w('<section id="groups">\n<h2>By directory, module and stack</h2>\n')
    if model.groups:
        _chart(model, w)
        w("<table>\n<thead><tr><th>Where</th><th>Kind</th>")
        for head in ("Targets", "Secure", "Weak", "Unknown", "Hazards", "Blocked"):
            w(f'<th class="num">{head}</th>')
        w('<th class="num">Fix safely</th><th class="num">Unsafe</th>')
        w('<th class="num">By hand</th></tr></thead>\n<tbody>\n')
        for g in model.groups[:TABLE_ROWS]:
            n = g.counts
            w(f"<tr><td>{_t(g.name)}</td><td>{_t(g.kind)}</td>")
            for number in (n.targets, n.secure, n.weak, n.unknown, n.hazards, n.blocked):
                w(f'<td class="num">{number:,}</td>')
            for number in (g.fixes.safe, g.fixes.unsafe, g.fixes.manual):
                w(f'<td class="num">{number:,}</td>')
            w("</tr>\n")
        w("</tbody>\n</table>\n")
        _more(w, len(model.groups), TABLE_ROWS, "groups")
    else:
        w('<p class="note">Nothing found to report on.</p>\n')
    w("</section>\n")
    if model.hazards:
        w('<section id="hazards">\n<h2>Hazards: what breaks when tokens are required</h2>\n')
        w("<table>\n<thead><tr><th>Where</th><th>Rule</th><th>Severity</th><th>Blocks</th>")
        w("<th>Fix</th><th>Finding</th></tr></thead>\n<tbody>\n")
        for h in model.hazards[:TABLE_ROWS]:
            blocks = ", ".join(_t(b) for b in h.blocks) or "no target scanned"
            severity = h.severity + (" (suppressed)" if h.suppressed else "")
            w(
                f"<tr><td>{_where(h.path, h.line)}</td><td>{_t(h.rule_id)} {_t(h.rule)}</td>"
                f"<td>{_t(severity)}</td><td>{blocks}</td><td>{_t(_FIX[h.fix])}</td>"
                f'<td class="msg">{_t(h.message)}</td></tr>\n'
            )
        w("</tbody>\n</table>\n")
        _more(w, len(model.hazards), TABLE_ROWS, "hazards")
        w("</section>\n")
    todo = [t for g in model.groups for t in g.targets if t.state != SECURE]
    if todo:
        w('<section id="targets">\n<h2>Targets to change</h2>\n')
        w("<table>\n<thead><tr><th>Target</th><th>Where</th><th>State</th><th>Rules</th>")
        w("<th>Fix</th><th>Blocked by</th></tr></thead>\n<tbody>\n")
        for t in todo[:TABLE_ROWS]:
            label = t.address + (f" ({t.instances:,} instances)" if t.instances > 1 else "")
            state = state_text(t)
            rules = [*t.rules, *(f"{r} (inherited)" for r in t.inherited)]
            w(
                f"<tr><td>{_t(label)}</td><td>{_where(t.path, t.line)}</td><td>{_t(state)}</td>"
                f"<td>{_t(', '.join(rules))}</td><td>{_t(_FIX[t.fix])}</td>"
                f"<td>{_t(', '.join(t.blocked_by))}</td></tr>\n"
            )
        w("</tbody>\n</table>\n")
        _more(w, len(todo), TABLE_ROWS, "targets")
        w("</section>\n")
    if model.errors:
        w('<section id="errors">\n<h2>Not scanned</h2>\n<table>\n')
        w("<thead><tr><th>Where</th><th>Why</th></tr></thead>\n<tbody>\n")
        for path, line, column, message in model.errors[:TABLE_ROWS]:
            where = f"{path}:{line}:{column}" if line > 0 else path
            w(f'<tr><td>{_t(where)}</td><td class="msg">{_t(message)}</td></tr>\n')
        w("</tbody>\n</table>\n")
        _more(w, len(model.errors), TABLE_ROWS, "errors")
        w("</section>\n")
    _guardrails(model, w)
    w('<section id="runtime">\n<h2>Before requiring tokens: check the running instances</h2>\n')
    w("<ol>\n")
    for check in model.checks:
        w(
            f"<li><p><strong>{_t(check.title)}.</strong> {_t(check.why)} "
            f'<span class="note">(AWS documentation: {_t(check.source)})</span></p>\n'
            f"<pre><code>{_t_block(check.command)}</code></pre></li>\n"
        )
    w("</ol>\n</section>\n")
    w(
        f'<footer class="note"><p>Written by imds-iac {_t(__version__)} from the files scanned '
        f"({model.files:,}); the page loads nothing.</p></footer>\n"
    )
    w("</main>\n</body>\n</html>\n")


def _guardrails(model: Readiness, w: Writer) -> None:
    """The section "Account defaults and guardrails" (readiness_guardrails.py)."""
    g = model.guardrails
    w('<section id="guardrails">\n<h2>Account defaults and guardrails</h2>\n')
    for text in g.summary:
        w(f"<p>{_t(text)}</p>\n")
    if g.defaults:
        w('<table id="account-defaults">\n<thead><tr><th>Account default</th><th>Where</th>')
        w("<th>Kind</th><th>Tokens</th><th>Why</th></tr></thead>\n<tbody>\n")
        for d in g.defaults[:TABLE_ROWS]:
            w(
                f"<tr><td>{_t(d.address)}</td><td>{_where(d.path, d.line)}</td>"
                f"<td>{_t(d.kind)}</td><td>{_t(d.state)}</td>"
                f'<td class="msg">{_t(d.detail)}</td></tr>\n'
            )
        w("</tbody>\n</table>\n")
        _more(w, len(g.defaults), TABLE_ROWS, "account defaults")
    if g.policies or g.iam_policies:
        w('<table id="guardrail-statements">\n<thead><tr><th>Guardrail statement</th>')
        w("<th>State</th></tr></thead>\n<tbody>\n")
        for s in g.statements:
            state = readiness_guardrails.shown(s.state, s.narrowed_by)
            text = state + (f" (as {s.stands})" if s.stands else "")
            w(f"<tr><td><code>{_t(s.name)}</code></td><td>{_t(text)}</td></tr>\n")
        w("</tbody>\n</table>\n")
    for rows, ident, title, plural in (
        (g.policies, "guardrail-policies", "Policy", "policies"),
        (g.iam_policies, "iam-policies", "IAM policy that names IMDS keys", "IAM policies"),
    ):
        if not rows:
            continue
        w(f'<table id="{ident}">\n<thead><tr><th>{title}</th><th>Where</th>')
        w("<th>What</th><th>Covers</th><th>Weaker than intended</th></tr></thead>\n<tbody>\n")
        for p in rows[:TABLE_ROWS]:
            said = "".join(
                f"<li>{_t(f.rule_id)} {_t(f.message)}"
                + (" (suppressed)" if f.suppressed else "")
                + "</li>"
                for f in p.findings
            )
            none = _t(readiness_guardrails.no_finding_text(p))
            w(
                f"<tr><td>{_t(p.address)}</td><td>{_where(p.path, p.line)}</td>"
                f"<td>{_t(readiness_guardrails.what_text(p))}</td>"
                f"<td>{_t(readiness_guardrails.covers_text(p))}</td>"
                f'<td class="msg">{f"<ul>{said}</ul>" if said else none}</td></tr>\n'
            )
        w("</tbody>\n</table>\n")
        _more(w, len(rows), TABLE_ROWS, plural)
    w("</section>\n")


def _t_block(text: str) -> str:
    """A multi-line block (a command): each line escaped, newlines kept."""
    return "\n".join(_t(line) for line in text.split("\n"))


def _more(w: Writer, total: int, shown: int, what: str) -> None:
    if total > shown:
        w(
            f'<p class="note">… and {total - shown:,} more {what}: see '
            "<code>imds-iac report --format json</code>.</p>\n"
        )


def _chart(model: Readiness, w: Writer) -> None:
    """Stacked horizontal bars, one per group: secure, weak, unknown targets, scaled to the
    largest group; the group's hazards as a red count beside its bar."""
    write = w
    groups = model.groups[:CHART_ROWS]
    label_w, bar_w, right_w, row_h, top = 300, 460, 120, 22, 8
    width = label_w + bar_w + right_w
    height = top + row_h * len(groups) + 8
    biggest = max((g.counts.targets for g in groups), default=0) or 1
    c = model.counts
    summary = (
        f"Targets per directory, module and stack: {c.secure:,} secure, {c.weak:,} weak, "
        f"{c.unknown:,} unknown; {c.hazards:,} hazards"
    )
    write(
        '<div class="legend">'
        + "".join(
            f'<span><span class="swatch" style="background:{_COLOURS[k]}"></span>{k}</span>'
            for k in ("secure", "weak", "unknown", "hazard")
        )
        + "</div>\n"
    )
    write(
        f'<svg id="chart" role="img" aria-label="{_t(summary)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">\n<title>{_t(summary)}</title>\n'
    )
    for i, g in enumerate(groups):
        n = g.counts
        y = top + i * row_h
        name = g.name if len(g.name) <= 44 else "…" + g.name[-43:]
        write(
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_t(name)}'
            f"<title>{_t(g.name)}</title></text>\n"
        )
        x = float(label_w)
        for key, number in (("secure", n.secure), ("weak", n.weak), ("unknown", n.unknown)):
            if not number:
                continue
            span = max(2.0, bar_w * number / biggest)
            write(
                f'<rect class="{key}" x="{x:.1f}" y="{y + 3}" width="{span:.1f}" '
                f'height="{row_h - 6}" fill="{_COLOURS[key]}"><title>{_t(g.name)}: '
                f"{number:,} {key}</title></rect>\n"
            )
            x += span
        if not n.targets:
            write(f'<text x="{x + 4:.1f}" y="{y + 15}" class="note">no target</text>\n')
            x += 64
        else:
            write(f'<text x="{x + 4:.1f}" y="{y + 15}">{n.targets:,}</text>\n')
            x += 8 + 8 * len(f"{n.targets:,}")
        if n.hazards:
            write(
                f'<text x="{x + 4:.1f}" y="{y + 15}" fill="{_COLOURS["hazard"]}" '
                f'style="fill:{_COLOURS["hazard"]};font-weight:700">⚠ {n.hazards:,} '
                f"hazard{'s' if n.hazards != 1 else ''}</text>\n"
            )
    write("</svg>\n")
    if len(model.groups) > CHART_ROWS:
        write(
            f'<p class="note">The chart shows the first {CHART_ROWS} of '
            f"{len(model.groups):,} groups; the table lists them all.</p>\n"
        )
