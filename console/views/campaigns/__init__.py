"""The campaign manager's pages: Campaigns, New campaign and Campaign (CONTRACT §12)."""
