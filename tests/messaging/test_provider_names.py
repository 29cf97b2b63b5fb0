"""No provider's name in messaging's core: the simulator is a provider like any other, found by
name through settings (SMS_PROVIDERS), so its name appears only in its own package."""

from pathlib import Path

import messaging

MESSAGING = Path(messaging.__file__).parent
OWN_PACKAGE = MESSAGING / "providers" / "simulator"


def core_modules() -> list[Path]:
    """Messaging's Python modules outside the simulator's package (migrations are history)."""
    return [
        path
        for path in MESSAGING.rglob("*.py")
        if OWN_PACKAGE not in path.parents and "migrations" not in path.parts
    ]


def test_the_simulator_is_named_only_in_its_own_package():
    modules = core_modules()
    assert len(modules) > 20  # the walk did find messaging's modules
    naming = [
        str(p.relative_to(MESSAGING)) for p in modules if "simulator" in p.read_text().lower()
    ]
    assert naming == []
