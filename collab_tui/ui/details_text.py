"""The text of the details view and of the operator's prompts: label / value lines.

Every value that came from a peer (ids, features, reasons, answers, component text) goes
through ``peer_text``. Pure functions of the trainer's state; the screen shows what they
return.
"""
from __future__ import annotations

from typing import Any, Callable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from ..core.numbers import score_text, tell_apart
from ..core.text import peer_text
from ..core.witness import BAD_RATES, GOOD, GOOD_RATE
from .widgets.cells import clock_time
from .widgets.requests import IN_PREFIX


class Details:
    """The body of a details view: blocks of label / value rows, and free text (a component's
    content). Drawn as a grid, so a value too long for the screen wraps under itself, never
    under the labels; ``plain`` is the same text unwrapped, one row per line."""

    def __init__(self) -> None:
        self.blocks: list[list[tuple[str, str]] | Text] = []

    def rows(self, rows: list[tuple[str, str]]) -> None:
        """Label / value lines; every value through ``peer_text`` (ids, features, reasons and
        answers all come from peers), labels too (they may hold a peer id)."""
        self.blocks.append([(peer_text(label, 80), peer_text(value, 1000)) for label, value in rows])

    def heading(self, title: str) -> None:
        self.blocks.append(Text(f"\n{title}", "bold"))

    def text(self, text: str) -> None:
        """Free text, already cleaned, line by line as given."""
        self.blocks.append(Text(text))

    @property
    def plain(self) -> str:
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, Text):
                out.append(block.plain)
                continue
            width = max((len(label) for label, _ in block), default=0)
            out += [f"{label:<{width}}  {value}" for label, value in block]
        return "\n".join(out)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for block in self.blocks:
            if isinstance(block, Text):
                yield block
                continue
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold", overflow="fold")     # a long peer id folds, never truncated
            grid.add_column(overflow="fold")
            for label, value in block:
                grid.add_row(label, value)
            yield grid


def request_details(t: Any, key: str, delivered_component: Callable[[Any], str | None]
                    ) -> tuple[str, Details | None, str | None]:
    """Title, body and peer of a Requests row (body ``None``: the record is gone)."""
    body = Details()
    if key.startswith(IN_PREFIX):
        r = t.incoming.get(key[len(IN_PREFIX):])
        if r is None:
            return "", None, None
        rows = [("request id", r.request_id), ("from", r.initiator),
                ("their specialization", r.initiator_specialization or "unknown"),
                ("type", r.collaboration_type), ("feature", r.feature or "—"),
                ("deadline", f"{r.deadline_s:g} s (until {clock_time(r.deadline_at)})"),
                ("received", clock_time(r.received_at)), ("status", r.status),
                ("automatic verdict", f"{r.decision.verdict} — {r.decision.reason} (rule {r.decision.rule})"),
                ("score / threshold then", f"{r.decision.score:.2f} / {r.decision.threshold:.2f}"),
                ("verdict in force", f"{r.verdict.verdict}" + (" (operator override)" if r.overridden else "")),
                ("reason", r.verdict.reason)]
        session = t.collaboration_sessions.get(r.session_key) if r.session_key else None
        if session:
            rows += [("session", f"{session.status}" + (f" — {session.detail}" if session.detail else ""))]
        if r.hold_until is not None:
            rows += [("held until", clock_time(r.hold_until))]
        title, peer = f"Request {peer_text(r.request_id[:8])} from {peer_text(r.initiator, 64)}", r.initiator
    else:
        o = t.outgoing.get(key[4:])
        if o is None:
            return "", None, None
        rows = [("request id", o.request_id), ("to", o.recipient or "everyone"),
                ("type", o.collaboration_type), ("feature", o.feature or "—"),
                ("deadline", f"{o.deadline_s:g} s (until {clock_time(o.deadline_at)})"),
                ("sent", clock_time(o.sent_at))]
        for p, resp in o.responses.items():
            verdict = "✓ ACCEPT" if resp.accepted else "✗ REJECT"
            rows.append((f"answer from {p}", f"{verdict}{' (override)' if resp.overridden else ''} — {resp.reason}"))
            s = t.collaboration_sessions.get(f"out:{o.request_id}/{p}")
            if s:
                rows.append((f"  session with {p}", s.status + (f" — {s.detail}" if s.detail else "")))
        if not o.responses:
            rows.append(("answers", "none yet"))
        component = delivered_component(o)
        title = f"Our request {o.request_id[:8]}"
        peer = t.shared_knowledge["benchmarks"][component]["source"] if component else o.recipient
        if component:
            rows.append(("delivered component", component))
    body.rows(rows)
    return title, body, peer

def component_details(t: Any, key: str) -> tuple[str, Details | None, str | None]:
    """Title, body and peer of a Components row (body ``None``: the record is gone)."""
    record = t.shared_knowledge["benchmarks"].get(key)
    if record is None:
        return "", None, None
    comp = record.get("component") or {}
    rows = [("key", key), ("source", record["source"]), ("request", record.get("request_id") or "—"),
            ("received", clock_time(record.get("received_at"))),
            ("complete", "yes" if record.get("collaboration_complete") else "no (partial)"),
            ("validation", f"{record['validation']} — {record['reason']}"),
            ("operator mark", record.get("mark") or "none")]
    for field in ("id", "name", "version", "sha256"):
        if field in comp:
            rows.append((field, str(comp[field])))
    body = Details()
    body.rows(rows)
    if isinstance(comp.get("content"), str):
        body.heading("content")
        # line by line, so the code keeps its lines while each is cleaned
        body.text("\n".join(peer_text(line, 500) for line in comp["content"][:4000].splitlines()))
    return f"Component {peer_text(key, 64)}", body, record["source"]

def peer_details(t: Any, peer: str) -> Details:
    """The body of a Reputation row's details: who the peer is and our evidence."""
    info = t.known_ai_info.get(peer, {})
    rec = t.book.records.get(peer)
    rows = [("peer", peer), ("specialization", info.get("specialization", "unknown")),
            ("capabilities", ", ".join(info.get("capabilities", [])) or "—"),
            ("online", "yes" if peer in t.online else "no"),
            ("score", f"{t.book.score(peer):.2f} (threshold {t.trust_threshold:.2f})"),
            ("evidence", f"{plural(rec.successes, 'success', 'successes')}, "
                         f"{plural(rec.failures, 'failure', 'failures')}" if rec else "none")]
    body = Details()
    body.rows(rows)
    network_into(body, t, peer)
    return body


def network_into(body: Details, t: Any, peer: str) -> None:
    """What the network says of ``peer``: its score from the reports we believe, the delivery rate
    those reports add up to beside the rates the engine weighs it against, then each
    reporter with its accuracy (the share of its checked claims of that kind that agreed with
    our own record), its weight (our belief, 0–1, that its claims of that kind are true), for an
    accuser how often its accusations contradicted the liars we caught, and what it said; for a
    peer we never met, what the liars we caught agree it is, and what that is worth."""
    view = t.network_view(peer)
    body.heading("what the network says")
    if view.score is None:
        summary = "nothing counted yet" + (f" ({plural(len(view.rows), 'reporter', 'reporters')} heard, "
                                           "none believed)" if view.rows else ": no reporter has told us of it")
    else:
        summary = f"{score_text(view.score, t.trust_threshold)} — {view.describe()}"
    rows = [("network", summary)]
    seen = view.raw_successes + view.raw_failures
    if view.score is not None and seen > 0:
        # why "20 ✓ / 8 ✗" can be a low score: the engine weighs a delivery rate against kinds of peer
        rows.append(("reads as", f"{view.raw_successes / seen:.0%} delivered, where the engine takes a good "
                                 f"collaborator to deliver {GOOD_RATE:.0%} of the time and an attacker "
                                 + ", ".join(f"{r:.0%}" for r in BAD_RATES[:-1]) + f" or {BAD_RATES[-1]:.0%}"))
    if view.agreed is not None:
        said = "praise" if view.agreed == GOOD else "accuse"
        rows.append(("caught liars", f"all {said} it: {view.agreement:+.1f} log-odds, as the strangers they "
                                     f"{said}d have turned out at our first meetings"))
    for row in view.rows:
        said = f"said {_count(row.successes)} ✓ / {_count(row.failures)} ✗"
        rows.append((f"  {row.reporter}", f"{said} · accuracy {row.accuracy:.2f} · weight {row.weight:.2f}"
                                          + (" · pinned" if row.pinned else "")
                                          + (f" · contradicted the caught liars {row.against[1]} of {row.against[0]}"
                                             if row.against[0] else "")
                                          + (" · unasked: not counted until believed" if row.unasked else "")))
    body.rows(rows)


def _count(x: float) -> str:
    return f"{x:g}" if x == int(x) else f"{x:.1f}"


_VALIDATION = {"passed": "✓ passed", "failed": "✗ failed", "validating": "… validating", "unchecked": "? unchecked"}


def delivery_label(key: str, record: dict[str, Any]) -> str:
    """One line of the delivery picker: who, how it validated, why, and any mark."""
    validation = _VALIDATION.get(record.get("validation", ""), str(record.get("validation", "")))
    mark = record.get("mark")
    return (f"{peer_text(record.get('source', '?'), 40)}  {validation}  "
            f"{peer_text(record.get('reason', ''), 60)}  · mark: {mark or 'none'}  · {peer_text(key, 40)}")


def mark_consequence(peer: str, old: float, new: float, threshold: float) -> str:
    """'lifts X from 0.35 to 0.54, above your threshold 0.50' — with digits that compare truly."""
    verb = "lifts" if new > old else "lowers" if new < old else "leaves"
    old_s, th_old = tell_apart(old, threshold)
    new_s, th_new = tell_apart(new, threshold)
    th = th_old if len(th_old) >= len(th_new) else th_new
    if old < threshold <= new:
        where = f"above your threshold {th}: its requests would be accepted again"
    elif new < threshold <= old:
        where = f"below your threshold {th}"
    elif new >= threshold:
        where = f"still at or above your threshold {th}"
    else:
        where = f"still below your threshold {th}"
    return f"{verb} {peer} from {old_s} to {new_s}, {where}"


def plural(count: int, one: str, many: str) -> str:
    """``1 success``, ``2 successes``, ``0 failures``."""
    return f"{count} {one if count == 1 else many}"
