"""Staff admin for messages, one module per section of the page; importing it registers them."""

from .messages import MessageAdmin

__all__ = ["MessageAdmin"]
