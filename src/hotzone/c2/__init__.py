"""Command and control: effectors, rules of engagement, proposals, human decisions, audit.

Only `hotzone.c2.authority.Authority.issue_order` constructs a `TaskOrder`, and only from
signed decisions of authorized humans (DESIGN.md §6). Submodules are imported where used;
nothing is built at import time.
"""
