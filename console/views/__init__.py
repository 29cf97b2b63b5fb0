"""Console views, one module per area of CONTRACT §12; each thin: parse, call a service, render."""
