"""The web console (CONTRACT §12): a second door to the same house, for a workspace's members."""
