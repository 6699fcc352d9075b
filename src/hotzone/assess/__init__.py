"""assess layer (see DESIGN.md §2)."""
