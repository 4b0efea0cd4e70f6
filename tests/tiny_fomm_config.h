// A First Order Motion Model configuration small enough to train on the CPU inside the tests
// (32x32 frames, 4 keypoints, 3-level hourglasses, every loss term on).
#pragma once

namespace anima::test {

inline const char* kTinyFommYaml = R"(dataset_params:
  frame_shape: [32, 32, 3]
  id_sampling: True
  augmentation_params:
    flip_param: {horizontal_flip: True, time_flip: True}
    jitter_param: {brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0.05}
model_params:
  common_params: {num_kp: 4, num_channels: 3, estimate_jacobian: True}
  kp_detector_params: {temperature: 0.1, block_expansion: 8, max_features: 32, scale_factor: 0.5, num_blocks: 3}
  generator_params:
    block_expansion: 8
    max_features: 32
    num_down_blocks: 2
    num_bottleneck_blocks: 1
    estimate_occlusion_map: True
    dense_motion_params: {block_expansion: 8, max_features: 32, num_blocks: 3, scale_factor: 0.5}
  discriminator_params: {scales: [1], block_expansion: 8, max_features: 32, num_blocks: 3, sn: True}
train_params:
  num_epochs: 2
  num_repeats: 2
  epoch_milestones: [1]
  batch_size: 2
  lr_generator: 2.0e-3
  lr_kp_detector: 2.0e-3
  lr_discriminator: 2.0e-3
  scales: [1, 0.5]
  checkpoint_freq: 1
  loss_weights:
    generator_gan: 1
    discriminator_gan: 1
    feature_matching: [10, 10, 10]
    perceptual: [10, 10]
    equivariance_value: 10
    equivariance_jacobian: 10
)";

}  // namespace anima::test
