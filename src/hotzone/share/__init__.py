"""share layer (see DESIGN.md §2)."""
