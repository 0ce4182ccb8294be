"""Tests of the integrations with experiment trackers."""
