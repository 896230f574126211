"""What runs beside the product: the 100k benchmark, the load test, the relevance and
extraction evaluations, the index snapshot, and the generator of synthetic sources."""
