"""`Hooks`: the callables a lower app calls at one point, plugged in by the apps above it.

The one way a lower app offers a hook (DESIGN): it owns a `Hooks` and a `register_*` function
for it; the higher app calls that function from its `AppConfig.ready()`. Export kinds and purges
are named registries of the same kind (`register_export_kind`, `register_purge`).
"""

from collections.abc import Callable, Iterator


class Hooks:
    """An ordered set of callables, each registered once, called in registration order."""

    def __init__(self, name: str):
        self.name = name
        self._hooks: list[Callable] = []

    def register(self, hook: Callable) -> Callable:
        """Add a callable (again is a no-op, as `ready()` may run twice); returns it."""
        if hook not in self._hooks:
            self._hooks.append(hook)
        return hook

    def unregister(self, hook: Callable) -> None:
        """Take a callable out (for tests)."""
        if hook in self._hooks:
            self._hooks.remove(hook)

    def __iter__(self) -> Iterator[Callable]:
        return iter(tuple(self._hooks))

    def __len__(self) -> int:
        return len(self._hooks)

    def __repr__(self) -> str:
        return f"Hooks({self.name!r}, {[h.__qualname__ for h in self._hooks]})"
