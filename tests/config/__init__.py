"""Tests of config/: the folder broker, the supervisor."""
