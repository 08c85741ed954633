"""Views that look inside the network while it learns: activations, saliency, weights, histograms,
confusion, predictions."""
