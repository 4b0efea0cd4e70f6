// A refined-masking configuration small enough to train on the CPU inside the tests: 48x48
// frames, 12x12 masks (the smallest P_train accepts), 8-channel networks, two VGG layers on two
// scales, r trained from the first epoch.
#pragma once

namespace anima::test {

inline const char* kTinyRefinedMaskYaml = R"(model: refined_mask
dataset_params:
  frame_shape: [48, 48, 3]
  id_sampling: True
  augmentation_params:
    flip_param: {horizontal_flip: True, time_flip: True}
model_params:
  common_params: {num_channels: 3, mask_scale: 0.25, encoder_block: paper}
  mask_generator_params: {block_expansion: 8, max_features: 32, num_blocks: 2, temperature: 1.0, pad: 3}
  refinement_params: {block_expansion: 8, max_features: 32, num_blocks: 2, temperature: 1.0}
  low_res_params: {block_expansion: 8, max_features: 32, num_bottleneck_blocks: 1, num_up_blocks: 2}
  high_res_params: {block_expansion: 8, max_features: 32, num_blocks: 3}
perturbation_params: {threshold: median, poisson_lambda: 20}
train_params:
  num_epochs: 2
  num_repeats: 2
  epoch_milestones: [1]
  lr: 2.0e-3
  betas: [0.5, 0.9]
  batch_size: 2
  scales: [1, 0.5]
  refinement_start_epoch: 0
  checkpoint_freq: 1
  augmentation_params: {brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0.1}
  loss_weights:
    mask: 100
    reconstruction: 10
    perceptual_layers: [relu1_1, relu2_1]
    perceptual: [1, 1]
)";

}  // namespace anima::test
