"""Training losses of ratbehavior, by stage.

Every loss takes per-frame validity masks and leaves masked frames out of both value and gradient;
on a batch with nothing to learn from it returns a 0 attached to the graph, never NaN.

- stage 1 (self-supervised): `hierarchical_contrastive_loss`, `unsupervised_session_mixing_contrastive`,
  `masked_reconstruction_loss`
- labelled frames: `masked_bce_with_logits`, `multilabel_supcon_loss`, `mixup`, `inverse_frequency_weights`
- stage 2 and 3 (unlabelled frames): `session_alignment_loss`, `class_prototypes`,
  `pseudo_labels_from_prototypes`, `prototype_fixmatch_loss`
"""

from ratbehavior.model.losses.contrastive import hierarchical_contrastive_loss, unsupervised_session_mixing_contrastive
from ratbehavior.model.losses.reconstruction import masked_reconstruction_loss
from ratbehavior.model.losses.semi import (
    class_prototypes,
    prototype_fixmatch_loss,
    pseudo_labels_from_prototypes,
    session_alignment_loss,
)
from ratbehavior.model.losses.supervised import (
    Mixed,
    inverse_frequency_weights,
    masked_bce_with_logits,
    mixup,
    multilabel_supcon_loss,
)

__all__ = [
    "Mixed",
    "class_prototypes",
    "hierarchical_contrastive_loss",
    "inverse_frequency_weights",
    "masked_bce_with_logits",
    "masked_reconstruction_loss",
    "mixup",
    "multilabel_supcon_loss",
    "prototype_fixmatch_loss",
    "pseudo_labels_from_prototypes",
    "session_alignment_loss",
    "unsupervised_session_mixing_contrastive",
]
