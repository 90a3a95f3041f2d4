"""``NetworkedKernelTrainer``: the seed's trainer as a sans-I/O state machine.

Frames go in with ``handle(message, now)``, time goes in with ``tick(now)``, the
operator's commands go in as method calls; each returns a list of actions for the
shell to carry out and events for observers. Nothing here opens a socket, starts a
task, reads a clock or touches a file.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Iterable, Sequence

from . import reports as rp
from . import wire
from .component_store import MAX_COMPONENT_STORE_BYTES, MAX_COMPONENTS, ComponentStore, OperatorMarks
from .components import DEFAULT_MAX_COMPONENT_BYTES
from .events import (
    Output, ProtocolProblem, ReportsAwaited, ReportsDue, ReputationChanged, Send, SessionChanged, SettingsChanged,
    StateChanged,
)
from .incoming import IncomingSide
from .outgoing import OutgoingSide
from .presence import PresenceSide
from .policy import DEADLINE_MISSED, AcceptancePolicy, ComplementTable, Decision, RequestContext, SeedPolicy
from .reputation import DEFAULT_HISTORY, NEUTRAL, ReputationBook, ScoreChange, check_unit
from .witness import NetworkView, WitnessBook
from .sessions import (
    ACTIVE, EXPIRED, FAILED, HELD, INITIATOR, MAX_FINISHED_RECORDS, MAX_HOLD_S, CollaborationSession, CommandError,
    IncomingRequest, OutgoingRequest, SessionTable, held_until,
)

__all__ = ["CommandError", "MAX_COMPONENTS", "MAX_COMPONENT_STORE_BYTES", "MAX_FINISHED_RECORDS",
           "NetworkedKernelTrainer", "SessionTable"]

#: Peers with a record (an outcome, a score) kept at most; past it, the records worth least go
#: (``_forget_spent_records``) in batches of ``FORGET_BATCH``. A peer cycling through fresh ids
#: leaves one record per id, and would otherwise grow memory and the state file for ever.
MAX_RECORDS = 4096
FORGET_BATCH = 256

#: Reports are weighed while our own record of a peer has fewer outcomes than this; beyond, ours decides.
REPORTS_BELOW = 1_000_000


class NetworkedKernelTrainer(PresenceSide, IncomingSide, OutgoingSide, OperatorMarks):
    """The trainer. Joining and presence live in ``presence``; its lifecycles in ``incoming`` (requests we receive),
    ``outgoing`` (requests we send, components delivered to us) and ``component_store``
    (stored components, operator marks); the reputation-report exchange, time and the
    settings are here."""

    def __init__(self, ai_id: str, specialization: str = "general",
                 hub_host: str = "127.0.0.1", hub_port: int = 6000,
                 auth_token: str | None = "secret1",
                 trust_threshold: float = 0.5,
                 reputation_alpha: float = 0.3,
                 *,
                 capabilities: Iterable[str] = (),
                 complements: ComplementTable | dict[str, list[str]] | None = None,
                 max_active_sessions: int = 3,
                 hold_s: float = 0.0,
                 max_component_bytes: int = DEFAULT_MAX_COMPONENT_BYTES,
                 history_size: int = DEFAULT_HISTORY,
                 validator_enabled: bool = False,
                 policy: AcceptancePolicy | None = None,
                 trusted_reporters: Iterable[str] = (),
                 ask_settings: rp.AskSettings | None = None,
                 share_reports: bool | None = None) -> None:
        check_unit("trust threshold", trust_threshold)
        self.ai_id = ai_id
        self.specialization = specialization
        self.capabilities = list(capabilities)
        self.hub_host = hub_host
        self.hub_port = hub_port
        self.auth_token = auth_token

        # Reputation system (the seed's names): reputation maps peer -> score in [0, 1].
        self.book = ReputationBook(reputation_alpha, history_size)
        self.reputation: dict[str, float] = self.book.scores
        self._trust_threshold = float(trust_threshold)

        if not isinstance(complements, ComplementTable):
            complements = ComplementTable.from_mapping(complements)
        self.policy: AcceptancePolicy = policy or SeedPolicy(complements)
        self.max_active_sessions = int(max_active_sessions)
        self.hold_s = self._check_hold(hold_s)
        self.max_component_bytes = int(max_component_bytes)
        self.validator_enabled = validator_enabled

        self.known_ai_info: dict[str, dict[str, Any]] = {}
        self.online: set[str] = set()
        self.collaboration_sessions: SessionTable = SessionTable()
        # Kept in step with the records so the policy's load count is O(1) per request.
        self._held_accepts: set[str] = set()
        self.incoming: OrderedDict[str, IncomingRequest] = OrderedDict()
        self.outgoing: OrderedDict[str, OutgoingRequest] = OrderedDict()
        # Finished requests beyond the newest ``MAX_FINISHED_RECORDS`` are forgotten; their
        # counts go on in the totals (``requests_received`` and the rest).
        self._forgotten_received = 0
        self._forgotten_accepted = 0
        self._forgotten_sent = 0
        self._forgotten_records = 0      # peers' records forgotten over ``MAX_RECORDS``
        self.components = ComponentStore()
        # The seed's name for the stored components: the store's own dict.
        self.shared_knowledge: dict[str, Any] = {"benchmarks": self.components.items}
        self.joined = False
        # A TRAINING_SYNC split over several frames (``more``): the union so far.
        self._sync_pending = False
        self._sync_active: list[str] = []
        self.now = 0.0

        # Shared evidence (PROTOCOL.md "Reputation reports"): what others told us, never mixed
        # into ``reputation``; what we ask and answer; what changed since our last broadcast.
        self.witness = WitnessBook(ai_id, trusted=trusted_reporters, floor=max(0.5, self._trust_threshold),
                                   collaborator_score=self.book.scores.get, own_counts=self._own_counts)
        self.asking = rp.Asking(ask_settings)
        self._awaiting: OrderedDict[str, _AwaitingReports] = OrderedDict()
        self._changed_subjects: OrderedDict[str, None] = OrderedDict()
        self._last_broadcast = -math.inf
        #: broadcast our changed observations (None: when our policy weighs reports)
        self.share_reports = share_reports
        self._query_prefix = ""          # set at the first query (ids: prefix + a counter)
        self._query_seq = 0

    # ------------------------------------------------------------------
    # Totals since start (the records themselves are bounded)
    @property
    def requests_received(self) -> int:
        """Requests received since start, the forgotten ones included (``incoming`` keeps the newest)."""
        return self._forgotten_received + len(self.incoming)

    @property
    def requests_accepted(self) -> int:
        """Of ``requests_received``, those whose verdict (now, or when forgotten) is accept."""
        return self._forgotten_accepted + sum(1 for r in self.incoming.values() if r.verdict.accept)

    @property
    def requests_sent(self) -> int:
        """Requests we sent since start, the forgotten ones included."""
        return self._forgotten_sent + len(self.outgoing)

    # ------------------------------------------------------------------
    # Settings the operator edits live
    @property
    def trust_threshold(self) -> float:
        return self._trust_threshold

    @trust_threshold.setter
    def trust_threshold(self, value: float) -> None:
        check_unit("trust threshold", value)
        self._trust_threshold = float(value)
        self.witness.floor = max(0.5, self._trust_threshold)

    @property
    def reputation_alpha(self) -> float:
        return self.book.alpha

    @reputation_alpha.setter
    def reputation_alpha(self, value: float) -> None:
        self.book.set_alpha(float(value))

    @staticmethod
    def _check_hold(value: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value <= MAX_HOLD_S) \
                or math.isnan(value):
            raise ValueError(f"hold window must be between 0 and {MAX_HOLD_S:g} seconds, got {value!r}")
        return float(value)

    def configure(self, *, trust_threshold: float | None = None, reputation_alpha: float | None = None,
                  hold_s: float | None = None, now: float | None = None) -> list[Output]:
        """Apply new settings at once (validated first, all or nothing).

        A shorter hold window applies to what is held now: each held verdict is due at
        the earlier of its current time and its arrival plus the new window; those due
        by ``now`` are sent at once (so a hold of 0 releases everything held).
        """
        if trust_threshold is not None:
            check_unit("trust threshold", trust_threshold)
        if reputation_alpha is not None:
            check_unit("reputation alpha", reputation_alpha)
        if hold_s is not None:
            self._check_hold(hold_s)
        if trust_threshold is not None:
            self.trust_threshold = trust_threshold
        if reputation_alpha is not None:
            self.reputation_alpha = reputation_alpha
        out: list[Output] = [SettingsChanged(self.trust_threshold, self.reputation_alpha, self.hold_s)]
        if hold_s is not None:
            self.hold_s = float(hold_s)
            out[0] = SettingsChanged(self.trust_threshold, self.reputation_alpha, self.hold_s)
            if now is not None:
                self.now = now
            for record in list(self.incoming.values()):
                if record.status != HELD or record.hold_until is None:
                    continue
                record.hold_until = min(record.hold_until,
                                        held_until(record.received_at, self.hold_s, record.deadline_at))
            out += self.tick(self.now)
        return out

    # ------------------------------------------------------------------
    # The seed's seam
    def _update_reputation(self, other_ai: str, success: bool, reason: str = "",
                           now: float | None = None) -> ScoreChange:
        """new = alpha * outcome + (1 - alpha) * old; old is 0.5 for an unseen peer."""
        new_peer = other_ai not in self.book.records
        change = self.book.update(other_ai, success, reason, self.now if now is None else now)
        if new_peer and len(self.book.records) > MAX_RECORDS:
            self._forget_spent_records()
        self.witness.learn(other_ai, success)      # judge the reporters who told us about this peer
        self._changed_subjects[other_ai] = None
        self._changed_subjects.move_to_end(other_ai)
        return change

    def _forget_spent_records(self) -> None:
        """Over ``MAX_RECORDS`` peers with a record: forget the records worth least, down to
        ``MAX_RECORDS - FORGET_BATCH`` (a batch, so the sort is paid once per batch, not per peer):
        the fewest outcomes first, then the oldest. Never a peer online, one we have a session or a
        request with, a pinned reporter or ourselves. What goes is mostly throwaway ids (a
        whitewasher's one failure each); one that comes back is a stranger again."""
        keep = set(self.online) | self.witness.trusted | {self.ai_id}
        keep.update(s.peer for s in self.collaboration_sessions.values()
                    if isinstance(s, CollaborationSession) and s.running)
        keep.update(r.initiator for r in self.incoming.values() if r.status == HELD)
        records = self.book.records
        spare = [r for p, r in records.items() if p not in keep]
        excess = len(records) - (MAX_RECORDS - FORGET_BATCH)
        if excess <= 0 or not spare:
            return
        spare.sort(key=lambda r: (r.observations, r.last_time if r.last_time is not None else -math.inf))
        doomed = [r.peer for r in spare[:excess]]
        self.book.forget(doomed)
        self._forgotten_records += len(doomed)
        for peer in doomed:
            self._changed_subjects.pop(peer, None)

    def _should_accept_collaboration(self, collaboration_type: str, initiator: str) -> bool:
        return self.decide(collaboration_type, initiator).accept

    def decide(self, collaboration_type: str, initiator: str) -> Decision:
        """The acceptance decision with its reason (which rule fired, with the numbers)."""
        return self.policy.decide(self.request_context(collaboration_type, initiator))

    def request_context(self, collaboration_type: str, initiator: str) -> RequestContext:
        """Everything the policy sees for one request: the seed's score plus its evidence."""
        info = self._get_ai_info(initiator)
        rec = self.book.records.get(initiator)
        return RequestContext(
            initiator=initiator,
            collaboration_type=collaboration_type,
            score=self.reputation.get(initiator, NEUTRAL),
            threshold=self.trust_threshold,
            our_specialization=self.specialization,
            initiator_specialization=info.get("specialization") if info else None,
            active_sessions=self.active_session_count(),
            max_active=self.max_active_sessions,
            observations=rec.observations if rec else 0,
            successes=rec.successes if rec else 0,
            failures=rec.failures if rec else 0,
            last_time=rec.last_time if rec else None,
            now=self.now,
            failure_streak=_failure_streak(rec) if rec and rec.failures else 0,
            last_failure_missed_deadline=bool(rec and rec.failures) and rec.last_failure_reason == DEADLINE_MISSED,
            network=self.witness.view(initiator) if self.uses_reports and (
                rec is None or rec.observations < REPORTS_BELOW) else None,
        )

    def _get_ai_info(self, ai_id: str) -> dict[str, Any] | None:
        return self.known_ai_info.get(ai_id)

    def active_session_count(self) -> int:
        """Sessions in which we are producing for someone, plus held accepts still before their deadline.

        A held accept whose deadline has passed is not counted even before ``tick`` answers
        it as lapsed (at most ``max_active_sessions`` accepts are held, so this stays short).
        """
        now = self.now
        incoming = self.incoming
        held = sum(1 for key in self._held_accepts if key in incoming and now < incoming[key].deadline_at)
        return self.collaboration_sessions.active_responders() + held

    # ------------------------------------------------------------------
    # Frames in (the connection's own frames in ``presence``, the lifecycles' in ``incoming``,
    # ``outgoing``)
    def handle(self, message: wire.NetworkMessage | dict | str, now: float) -> list[Output]:
        self.now = now
        if not isinstance(message, wire.NetworkMessage):
            try:
                message = wire.parse_message(message)
            except wire.FrameError as exc:
                return [ProtocolProblem("hub", str(exc))]
        handler = self._HANDLERS.get(message.type)
        if handler is None:
            return [ProtocolProblem(message.sender_id, f"unexpected frame type {message.type!r}")]
        try:
            return handler(self, message)
        except wire.FrameError as exc:
            return [ProtocolProblem(message.sender_id, f"{message.type}: {exc}")]

    # ---- shared evidence: reputation queries and reports ---------------
    @property
    def uses_reports(self) -> bool:
        """Whether our policy weighs reports (then we ask about unknown peers and broadcast)."""
        return bool(getattr(self.policy, "uses_reports", False))

    def network_view(self, peer: str) -> NetworkView:
        """What the reporters we believe say of ``peer`` (score, reporters, one row per reporter)."""
        return self.witness.view(peer, rows=True)

    def _own_counts(self, peer: str) -> tuple[int, int] | None:
        rec = self.book.records.get(peer)
        return (rec.successes, rec.failures) if rec is not None and rec.observations else None

    def set_trusted_reporters(self, reporters: Iterable[str]) -> None:
        self.witness.set_trusted(reporters)

    def ask_about(self, subject: str, now: float, candidates: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """Choose whom to ask about ``subject`` and note the queries as sent: [(query_id, reporter)].

        Only for a peer we hardly know (fewer than ``ask_below`` of our own outcomes) and not
        asked about within ``cache_s``. At most ``k`` reporters: the ones we believe most as
        witnesses (pinned first), with ``explore`` slots for reporters not judged yet; never the
        subject; by default only peers online (``candidates`` replaces them: the simulation);
        within our global query budget. The caller sends the frames (``query_frames``).
        """
        self.now = now
        rec = self.book.records.get(subject)
        if not self.asking.should_ask(subject, rec.observations if rec else 0, now):
            return []
        if rec is not None and rec.successes == 0 and rec.failures and rec.last_failure_reason != DEADLINE_MISSED:
            return []          # it failed us with a bad delivery and never delivered: nothing to ask
        st = self.asking.settings
        allowed = None
        if candidates is None:
            allowed = self.online
            candidates = sorted(self.online)
        out = []
        for reporter in self.witness.best_reporters(candidates, st.k, st.explore, subject=subject,
                                                    allowed=allowed, now=now):
            if not self.asking.may_send_query(now):
                break
            if not self._query_prefix:
                self._query_prefix = wire.new_id()[:12] + "-"
            self._query_seq += 1
            qid = f"{self._query_prefix}{self._query_seq}"
            # a reporter we have hardly judged yet is asked for everything it saw: judged at once on
            # every peer we know ourselves, it is believed (or not) after one answer, not fifty; a proven
            # one is asked for everything again now and then: which peers it met since
            everything = self.asking.wants_everything(reporter, self.witness.judged(reporter), now,
                                                      proven=self.witness.is_proven(reporter))
            self.asking.sent(qid, reporter, (subject,), now, everything=everything)
            out.append((qid, reporter))
        return out

    def _ask_before_deciding(self, key: str, initiator: str, req: wire.RequestPayload) -> list[Output]:
        """Ask about a peer we hardly know; the decision waits for the answers (bounded)."""
        if not self.uses_reports:
            return []
        asked = self.ask_about(initiator, self.now)
        if not asked:
            return []
        st = self.asking.settings
        # never past a quarter of the request's deadline, nor half our hold window (the operator keeps the rest)
        wait = min(st.wait_s, req.deadline_s / 4, self.hold_s / 2 if self.hold_s > 0 else math.inf)
        waiting = _AwaitingReports(initiator, req, self.now, self.now + wait, {qid for qid, _ in asked})
        self._awaiting[key] = waiting
        for qid, _ in asked:
            self.asking.pending[qid].waiting.add(key)
        return [*(Send(m) for m in self.query_frames(asked, initiator)),
                ReportsAwaited(initiator, req.request_id, [r for _, r in asked], waiting.due_at)]

    def query_frames(self, asked: list[tuple[str, str]], subject: str) -> list[wire.NetworkMessage]:
        return [wire.make_message(rp.REPUTATION_QUERY, self.ai_id, {"query_id": qid, "subjects": self.query_subjects(qid)},
                                  self.now, recipient_id=reporter) for qid, reporter in asked]

    def query_subjects(self, query_id: str) -> list[str] | None:
        """The ``subjects`` of a query we noted as sent (None: everything the reporter saw)."""
        q = self.asking.pending[query_id]
        return None if q.subjects is None else list(q.subjects)

    @property
    def shares_reports(self) -> bool:
        return self.uses_reports if self.share_reports is None else self.share_reports

    def own_observations(self, subjects: Iterable[str] | None, exclude: Iterable[str] = ()) -> list[dict[str, Any]]:
        """What we report (answers and broadcasts): our own first-hand records, never hearsay."""
        return rp.first_hand(self.book, subjects, exclude=exclude)

    def answer_query(self, sender: str, query: rp.Query) -> dict[str, Any]:
        """The REPUTATION_REPORT payload answering ``query``: our own first-hand records only."""
        return {"query_id": query.query_id, "observations": self.own_observations(query.subjects, (sender,))}

    def _handle_reputation_query(self, message: wire.NetworkMessage) -> list[Output]:
        sender = message.sender_id
        query = rp.parse_query(message.payload)
        if not self.asking.may_answer(sender, self.now):
            return [ProtocolProblem(sender, "REPUTATION_QUERY over the rate limit: not answered")]
        return [Send(wire.make_message(rp.REPUTATION_REPORT, self.ai_id, self.answer_query(sender, query),
                                       self.now, recipient_id=sender))]

    def receive_report(self, sender: str, report: rp.ReportFrame, now: float) -> list[Output]:
        """Keep a (validated) report; decide the requests that were waiting only for it."""
        self.now = now
        query = self.asking.answered(report.query_id, sender)
        if query is None:
            if report.query_id is not None:
                return []                   # an answer to nothing we asked (late, or made up): dropped
            if not self.asking.may_keep_unsolicited(sender, now):
                return []
            observations = report.observations
        else:
            wanted = set(query.subjects) if query.subjects is not None else None
            observations = [o for o in report.observations if wanted is None or o[0] in wanted]
        self.witness.ingest(sender, observations, now, asked=query is not None)
        out: list = []
        if query is not None:
            for key in query.waiting:
                waiting = self._awaiting.get(key)
                if waiting is None:
                    continue
                waiting.queries.discard(report.query_id)
                if not waiting.queries:
                    out += self._decide_awaiting(key)
        return out

    def _handle_reputation_report(self, message: wire.NetworkMessage) -> list[Output]:
        return self.receive_report(message.sender_id, rp.parse_report(message.payload), self.now)

    def _decide_awaiting(self, key: str) -> list[Output]:
        waiting = self._awaiting.pop(key)
        return self._admit_request(key, waiting.initiator, waiting.request, waiting.received_at)

    def _reports_tick(self, now: float) -> list[Output]:
        """Decide requests whose wait for answers is over; broadcast what changed, at most every 30 s."""
        out: list = []
        for key in [k for k, w in self._awaiting.items() if now >= w.due_at]:
            out += self._decide_awaiting(key)
        self.asking.expire(now)
        out += self.broadcast_due(now)
        return out

    def broadcast_due(self, now: float) -> list[Output]:
        """The unsolicited REPUTATION_REPORT of our records that changed since the last one, when
        30 s have passed since it (PROTOCOL.md); else nothing. ``tick`` sends it; the simulation calls it."""
        if not self.shares_reports or not self._changed_subjects or not self.joined \
                or now < self._last_broadcast + rp.BROADCAST_EVERY_S:
            return []
        subjects = list(self._changed_subjects)[-rp.MAX_ENTRIES:]
        self._changed_subjects.clear()
        self._last_broadcast = now
        observations = self.own_observations(subjects)
        if not observations:
            return []
        return [Send(wire.make_message(rp.REPUTATION_REPORT, self.ai_id,
                                       {"query_id": None, "observations": observations}, now))]

    def _reports_deadline(self) -> float | None:
        times = [w.due_at for w in self._awaiting.values()]
        if self.shares_reports and self._changed_subjects and self.joined:
            times.append(max(self.now, self._last_broadcast + rp.BROADCAST_EVERY_S))
        return min(times) if times else None

    # ------------------------------------------------------------------
    # Time
    def tick(self, now: float) -> list[Output]:
        """Send held verdicts whose window has passed; fail sessions past their deadline."""
        self.now = now
        out: list[Output] = self._reports_tick(now)
        for record in list(self.incoming.values()):
            if record.status == HELD and record.hold_until is not None and now >= record.hold_until:
                record.hold_until = None
                if now >= record.deadline_at:
                    out += self._lapse(record)
                else:
                    out += self._send_verdict(record)
        for session in list(self.collaboration_sessions.values()):
            if session.status != ACTIVE or now < session.deadline_at:
                continue
            if session.role == INITIATOR:
                reason = (f"no valid component within the deadline "
                          f"({session.deadline_at - session.started_at:.0f} s)")
                self._finish(session, FAILED, reason)
                out += [SessionChanged(session), *self._outcome(session.peer, False, "deadline missed")]
            else:
                self._finish(session, EXPIRED, "deadline passed before the component was produced")
                out.append(SessionChanged(session))
        return out

    def next_deadline(self) -> float | None:
        """The earliest time at which ``tick`` has something to do, for the shell's timer."""
        times = [r.hold_until for r in self.incoming.values() if r.status == HELD and r.hold_until is not None]
        times += [s.deadline_at for s in self.collaboration_sessions.values() if s.status == ACTIVE]
        reports_due = self._reports_deadline()
        if reports_due is not None:
            times.append(reports_due)
        return min(times) if times else None

    # ------------------------------------------------------------------
    def _outcome(self, peer: str, success: bool, reason: str) -> list[Output]:
        first_change = not self._changed_subjects
        change = self._update_reputation(peer, success, reason, self.now)
        out: list = [ReputationChanged(change), StateChanged()]
        if first_change and self.shares_reports:
            out.append(ReportsDue(max(self.now, self._last_broadcast + rp.BROADCAST_EVERY_S)))
        return out

    def _finish(self, session: CollaborationSession, status: str, detail: str) -> None:
        self.collaboration_sessions.status_changed(session, status)
        session.status = status
        session.detail = detail
        session.ended_at = self.now

    def export_state(self) -> dict[str, Any]:
        return self.book.export_state()

    def import_state(self, state: dict[str, Any]) -> None:
        self.book.import_state(state)
        if len(self.book.records) > MAX_RECORDS:        # a state file from before the bound
            self._forget_spent_records()

    @property
    def records_forgotten(self) -> int:
        """Peers' records forgotten over ``MAX_RECORDS`` since start."""
        return self._forgotten_records

    _HANDLERS = {
        wire.TRAINING_SYNC: PresenceSide._handle_training_sync,
        wire.PEER_JOINED: PresenceSide._handle_peer_joined,
        wire.PEER_LEFT: PresenceSide._handle_peer_left,
        wire.ERROR: PresenceSide._handle_error,
        wire.COLLABORATION_REQUEST: IncomingSide._handle_collaboration_request,
        wire.COLLABORATION_RESPONSE: OutgoingSide._handle_collaboration_response,
        wire.OS_COMPONENT_SHARE: OutgoingSide._handle_os_component_share,
        rp.REPUTATION_QUERY: _handle_reputation_query,
        rp.REPUTATION_REPORT: _handle_reputation_report,
    }


class _AwaitingReports:
    """A request whose decision waits (at most until ``due_at``) for answers to our queries."""

    __slots__ = ("initiator", "request", "received_at", "due_at", "queries")

    def __init__(self, initiator: str, request: wire.RequestPayload, received_at: float, due_at: float,
                 queries: set[str]) -> None:
        self.initiator, self.request, self.received_at = initiator, request, received_at
        self.due_at, self.queries = due_at, queries


def _failure_streak(rec) -> int:
    """Failures in a row at the end of a peer's record (bounded by its kept history)."""
    run = 0
    for change in reversed(rec.history):
        if change.kind != "outcome" or change.undone:
            continue
        if change.success:
            break
        run += 1
    return run
