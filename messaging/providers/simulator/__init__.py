"""The simulator: a provider with scripted outcomes, a ledger of submissions and a lookup."""
