"""The Pulumi program seen from outside: its settings, its run under mocks, preflight, prune."""
