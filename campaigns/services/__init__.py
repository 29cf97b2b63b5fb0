"""Writes of campaigns: contacts, templates, launch, a running campaign's lifecycle, the pump,
opt-out words. Callers import the module that does what they need."""
