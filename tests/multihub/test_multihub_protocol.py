"""tests/hub's protocol tests, run unchanged against hubs sharing Redis.

The ``hub`` fixture here (tests/multihub/conftest.py) is a network of one hub on a
RedisBroker, or of two hubs; ``connect(hub)`` puts trainers on the hubs in turn, so
in the two-hub run the first trainer (A) joins one hub and the second (B) the other,
the third the first again, ... Routing, presence, spoofing, unknown recipients,
duplicate ids and broadcast echo are thereby checked across hubs.
"""

from __future__ import annotations

import multihub_kit  # noqa: F401  (puts tests/hub on sys.path)
from test_hub_joining import (  # noqa: F401
    test_duplicate_id_leaves_the_joined_session_untouched,
    test_frames_before_hello_get_not_joined_and_connection_stays_open,
    test_hello_check_order_bad_hello_before_auth_before_duplicate,
    test_id_can_rejoin_after_leaving,
    test_join_gets_training_sync_and_peers_get_peer_joined,
    test_peer_left_on_clean_close_and_on_abrupt_disconnect,
    test_per_id_token_claims_only_its_id,
    test_second_hello_is_unknown_type_and_keeps_the_session,
)
from test_hub_routing import (  # noqa: F401
    test_absent_or_own_sender_id_is_stamped,
    test_broadcast_reaches_every_other_trainer_and_is_never_echoed,
    test_directed_frame_reaches_only_its_recipient,
    test_each_relayed_type_is_relayed_with_payload_as_sent,
    test_extra_envelope_fields_are_accepted_and_not_relayed,
    test_reputation_frames_are_relayed_directed_and_broadcast,
    test_spoofed_sender_is_refused_and_not_forwarded,
    test_types_a_client_may_not_send_are_unknown_type,
    test_unknown_recipient_including_self,
    trio,
)
