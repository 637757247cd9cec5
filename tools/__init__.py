"""Console entry points: argument parsing only, the work lives elsewhere."""
