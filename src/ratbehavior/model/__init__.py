"""The model: encoder and heads, the losses that train them, and the augmentations for their views."""
