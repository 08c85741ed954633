"""Views that look inside the network while it learns: activations, weights, confusion, gallery, saliency."""
