"""The post service's adapters: SQLAlchemy tables, repositories and the unit of work."""
