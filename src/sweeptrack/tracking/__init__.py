"""The tracking database: store interface, SQL store, query language, artifacts, environment."""
