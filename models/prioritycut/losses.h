// PriorityCut's discriminator-side terms (paper section 3.2) on the U-Net discriminator.
#pragma once
#include "models/prioritycut/unet_discriminator.h"

namespace anima::prioritycut {

// LSGAN on both heads: generator mean((1 - g)^2) + mean((1 - p)^2); discriminator
// mean((1 - g_real)^2 + g_fake^2) + mean((1 - p_real)^2 + p_fake^2).
Tensor unet_generator_loss(const UNetDiscriminator::Output& fake);
Tensor unet_discriminator_loss(const UNetDiscriminator::Output& real, const UNetDiscriminator::Output& fake);

// Consistency regularisation: || D_dec(mix(real, fake, M)) - mix(D_dec(real), D_dec(fake), M) ||^2
// (mean over pixels), with M the PriorityCut (or CutMix) mask [N, 1, H, W] and mixed_pixel the
// decoder's output on mix(real, fake, M) (the training step computes it once for two terms).
Tensor consistency_loss(const Tensor& mixed_pixel, const Tensor& mask, const UNetDiscriminator::Output& d_real,
                        const UNetDiscriminator::Output& d_fake);

}  // namespace anima::prioritycut
