"""bus layer (see DESIGN.md §2)."""
