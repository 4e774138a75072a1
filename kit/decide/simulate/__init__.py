"""The traffic simulator behind ``kit simulate``, ``kit cost`` and ``kit report``."""
