"""Twilio: the REST client (`provider.py`) and its signed callbacks (`views.py`, `urls.py`)."""
