"""SMS providers: one package each, behind one interface (base.py), found through registry.py."""
