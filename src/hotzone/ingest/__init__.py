"""ingest layer (see DESIGN.md §2)."""
