"""Model importers. Only ONNX for now."""
