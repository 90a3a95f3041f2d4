"""What the console and the headless summary count: totals since start, not the bounded records."""
import pytest

from collab_tui import NetworkedKernelTrainer
from collab_tui.core import sessions
from collab_tui.core.component_store import ComponentStore
from collab_tui.core.components import build_component
from collab_tui.launch import headless_summary

from .helpers import request, sync


@pytest.fixture
def small_records(monkeypatch):
    monkeypatch.setattr(sessions, "MAX_FINISHED_RECORDS", 5)


def test_request_totals_go_on_past_the_records_kept(small_records):
    t = NetworkedKernelTrainer("A", "networking")
    t.handle(sync(("good", "storage"), ("bad", "storage")), 0.0)
    t._update_reputation("bad", False, "bad delivery", 0.0)   # 0.35 < 0.5: refused by the seed's rule
    for i in range(12):
        t.handle(request("good", f"g{i}", deadline=1.0), 10.0 * i)
        t.handle(request("bad", f"b{i}", deadline=1.0), 10.0 * i + 1)
        t.tick(10.0 * i + 5)
    assert len(t.incoming) == 5                               # the newest finished ones are kept...
    assert t.requests_received == 24                          # ...the totals count every one
    assert t.requests_accepted == 12
    for i in range(9):
        t.start_request("feature_development", f"f{i}", 1.0, 200.0 + 10 * i)
    assert len(t.outgoing) == 5 and t.requests_sent == 9
    summary = headless_summary(t)[0]
    assert summary.startswith("summary: 24 request(s) received (✓ 12 ✗ 12), 9 sent, ")


def test_component_totals_count_the_evicted_ones():
    store = ComponentStore(max_count=3)
    for i in range(7):
        store.add(f"c{i}", build_component(f"c{i}", "n", "1", "x"), "peer", float(i),
                  {"validation": "failed" if i % 2 else "passed"})
    assert len(store) == 3
    assert store.totals() == (7, 3)                           # c1, c3, c5 failed; c5 is still kept
    assert store.received() == 7                              # what the status line shows
