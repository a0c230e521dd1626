"""Encrypted document storage: per-pupil data keys wrapped by the instance key."""
