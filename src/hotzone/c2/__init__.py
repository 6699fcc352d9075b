"""c2 layer (see DESIGN.md §2)."""
