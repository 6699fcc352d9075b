"""Subcommands of the ``hotzone`` CLI; each module has ``add_parser`` and a runner."""
