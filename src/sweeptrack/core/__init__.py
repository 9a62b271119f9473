"""Domain objects, events and errors shared by every layer (standard library only)."""
