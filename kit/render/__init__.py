"""Every table and plot the commands print or write (rich, Markdown, matplotlib)."""
