"""The gradebook's revisions, oldest first by their `down_revision` chain."""
