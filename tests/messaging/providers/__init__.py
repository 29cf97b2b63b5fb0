"""Tests of messaging/providers/."""
