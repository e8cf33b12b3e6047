"""Performance scripts: each prints figures measured in one run (``make bench`` runs them all)."""
