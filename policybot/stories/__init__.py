"""Stories: the same item once (canon.py), the same event once (group.py)."""
