"""hotzone: multi-domain sensor fusion and decision support for a border defence zone."""

__version__ = "0.1.0"
__all__ = ["__version__"]
