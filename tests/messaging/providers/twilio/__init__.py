"""Tests of messaging/providers/twilio/: the provider and its callback views."""
