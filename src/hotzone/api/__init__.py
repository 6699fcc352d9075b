"""The web API: a FastAPI app factory (`app.create_app`), REST and WebSocket routes, each
filtered for the viewer's nation. Nothing is built at import time; see docs/architecture.md.
"""

# The public modules of this package (import them directly; none is imported here).
__all__: list[str] = [
    "allied",
    "app",
    "federation_pictures",
    "layers",
    "live",
    "picture",
    "releasability",
    "sessions",
    "stream",
    "users",
    "webauthn_routes",
]
