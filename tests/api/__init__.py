"""Tests of the API as a whole: every endpoint through one check."""
