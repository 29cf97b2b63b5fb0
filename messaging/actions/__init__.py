"""Every write of the send path, one module per verb, over `messaging.lifecycle`.

send (and batch) accept a message; dispatch claims and submits it; reports apply what providers
say of it; inbound stores a handset's message; sweeps heal what a crash or a lost task left
behind; review closes a staff review.
"""
