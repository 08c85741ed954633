"""The inference server the Draw dock and the views ask: predictions, activations, saliency."""
