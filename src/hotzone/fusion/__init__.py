"""fusion layer (see DESIGN.md §2)."""
