// ImageNet's per-channel RGB mean and std in 0..1 space (timm's IMAGENET_DEFAULT_MEAN / _STD): the
// normalisation of most pretrained configs and the image pipeline's default. Here, below both
// models/ and data/, so each can use the one constant.

export const IMAGENET_MEAN: readonly [number, number, number] = Object.freeze([0.485, 0.456, 0.406] as const);
export const IMAGENET_STD: readonly [number, number, number] = Object.freeze([0.229, 0.224, 0.225] as const);
