"""The per-workspace rate limit: a token bucket in Redis (or in process on the embedded default).

Capacity and refill both equal the workspace's `rate_limit_per_second`. The Redis bucket is one
Lua script, so concurrent requests across processes can never take more than the bucket holds.
"""

import math
import threading
from functools import cache

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from . import clock
from .errors import TernError

_TOKEN_BUCKET_LUA = """
local rate = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or rate
local ts = tonumber(state[2]) or now
if now > ts then
  tokens = tokens + (now - ts) * rate
  ts = now
end
tokens = math.min(rate, tokens)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = (cost - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('EXPIRE', KEYS[1], 60)
return tostring(wait)
"""


class RedisBucket:
    """Token buckets kept in Redis, shared by every web process."""

    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_TOKEN_BUCKET_LUA)

    def take(self, key: str, rate: float, now: float, cost: float = 1) -> float:
        """Take `cost` tokens; return 0 when allowed, else the seconds until they would be."""
        return float(self.script(keys=[f"tern:rl:{key}"], args=[rate, now, cost]))


class LocalBucket:
    """The same buckets in this process's memory (the embedded default runs one web process)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: float, now: float, cost: float = 1) -> float:
        """Take `cost` tokens; return 0 when allowed, else the seconds until they would be."""
        with self.lock:
            tokens, ts = self.state.get(key, (rate, now))
            if now > ts:
                tokens, ts = tokens + (now - ts) * rate, now
            # Capped even when the clock has not moved: a lowered limit holds at once.
            tokens = min(rate, tokens)
            wait = 0.0 if tokens >= cost else (cost - tokens) / rate
            self.state[key] = (tokens - cost if not wait else tokens, ts)
            return wait


@cache
def bucket_store() -> RedisBucket | LocalBucket:
    """Redis when REDIS_URL is set, else this process's memory."""
    return RedisBucket(settings.REDIS_URL) if settings.REDIS_URL else LocalBucket()


def workspace_rate_check(workspace) -> None:
    """Take one token from the workspace's bucket or raise `rate_limited` with Retry-After."""
    wait = bucket_store().take(
        workspace.pk, float(workspace.rate_limit_per_second), clock.now().timestamp()
    )
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise TernError(
            "rate_limited",
            details={
                "retry_after": retry_after,
                "limit_per_second": workspace.rate_limit_per_second,
            },
            headers={"Retry-After": str(retry_after)},
        )


class WorkspaceRateThrottle(BaseThrottle):
    """DRF's hook for the workspace bucket; runs after authentication and scope checks."""

    def allow_request(self, request, view):
        """Every authenticated API request spends one token."""
        workspace = getattr(request, "workspace", None)
        if workspace is not None:
            workspace_rate_check(workspace)
        return True
