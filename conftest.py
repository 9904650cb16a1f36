"""Root conftest: intentionally empty (pytest loads it during editable suite runs)."""
