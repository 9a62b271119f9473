"""Executors run trials and relay their events; they never touch the database."""
