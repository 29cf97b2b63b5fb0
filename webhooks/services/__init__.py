"""Every write of the webhooks app, by what it does: endpoints, delivery, sweeps and replays."""
