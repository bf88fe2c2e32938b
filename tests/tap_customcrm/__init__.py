"""Tests of tap-customcrm against the Customcrm reference service."""
