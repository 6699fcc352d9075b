"""The common operational picture: the static page (MapLibre + milsymbol) the API serves
(docs/cop.md). It holds no Python beyond this package marker.
"""

__all__: list[str] = []
