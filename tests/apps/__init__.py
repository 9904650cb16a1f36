"""Receivers as teams write them, loaded in-process by ``--target-app`` (module:factory())."""
