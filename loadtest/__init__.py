"""Load and faults against a running stack: an open-loop generator, a delivery audit, reports."""
