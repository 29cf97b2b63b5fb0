"""The message pages (CONTRACT §12): Messages, Message, Send and Refused requests."""

from .detail import delivery_replay_view, message_cancel_view, message_detail
from .listing import message_list, refusal_list
from .send import send, send_count

__all__ = [
    "delivery_replay_view",
    "message_cancel_view",
    "message_detail",
    "message_list",
    "refusal_list",
    "send",
    "send_count",
]
