"""``make bench``: runtime figures per model size and the simulator's speed (never imported by ``kit``)."""
