"""Tests of the sample apps in fixtures/apps/, each run as its own process against stand-in peers."""
