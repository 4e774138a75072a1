"""The traffic simulator behind ``bench simulate``, ``bench cost`` and ``bench report``."""
