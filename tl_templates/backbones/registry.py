"""The backbone registry: one table row per backbone the kit knows.

A row says how to build the network, how its inputs are preprocessed, and how
its layers split into ordered, named blocks. Adding a backbone is adding a row.

Blocks are found from layer names. `blocks` is an ordered tuple of
`(block_name, pattern)`: walking the model's layers in order, a layer whose
name matches a block's pattern (`re.search`) opens that block; a layer that
matches no pattern (an input, a preprocessing layer, an auto-named activation
or shortcut) belongs to the block that is open. The first block has no
pattern: it holds every layer before the second block starts.

This module does not import Keras, so the CLI can list backbones instantly.
"""

import dataclasses
import re

# Training images of ImageNet-1k, the source task of keras.applications weights.
IMAGENET_TRAIN_IMAGES = 1_281_167
# Training images of the lab_glyphs source task (data/lab_glyphs/CARD.md).
LAB_GLYPHS_SOURCE_IMAGES = 47_000
# AudioSet's clips (10 s YouTube excerpts), the source task of YAMNet.
AUDIOSET_CLIPS = 2_084_320
# Training clips of the lab_speech source task (data/lab_speech/CARD.md).
LAB_SPEECH_SOURCE_CLIPS = 13_200
# 0.975 s at 16 kHz: the samples that make one 96x64 log-mel patch, the input
# YAMNet was trained on (tl_templates.backbones.audio_frontend.PATCH_SAMPLES).
AUDIO_PATCH_SAMPLES = 15_600
# Where the published YAMNet weights and SavedModel live.
YAMNET_WEIGHTS_URL = "https://storage.googleapis.com/audioset/yamnet.h5"
YAMNET_HUB_HANDLE = "https://tfhub.dev/google/yamnet/1"

INPUT_KINDS = ("image", "audio")


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """One registry row.

    Attributes:
        name: str. Registry key, lower case (`"efficientnetb0"`).
        constructor: str. Dotted path of the function that builds the model.
        preprocessing: str. `"included"` when the constructor's model already
            maps raw 0-255 pixels (or, for audio, waveforms) to its input, else the mode of
            `tl_templates.ImageNetPreprocessing` (`"tf"`, `"torch"`, `"caffe"`)
            that `build_backbone` puts in front of the network.
        blocks: tuple. Ordered `(block_name, pattern)` pairs, see module doc.
        default_input_size: int. Image side the pretrained weights were made
            for; for audio, the waveform length in samples at 16 kHz.
        min_input_size: int. Smallest image side (or waveform length) the
            architecture accepts.
        pretrained: str. What `weights="pretrained"` means: `"imagenet"`, a
            file under the kit's data folder (`tl_templates.paths.DATA_DIR`),
            or a URL (a weights file, or a TF-Hub handle).
        source_examples: int. Size of the source task the pretrained weights
            learned (ImageNet-1k: 1,281,167 images); the advisor compares it
            with your data.
        description: str. One line for `tl-templates backbones`.
        constructor_kwargs: tuple. Extra `(key, value)` arguments for the
            constructor.
        input_kind: str. `"image"` (raw RGB pixels `(height, width, 3)`) or
            `"audio"` (mono 16 kHz waveforms `(samples,)`).
        frozen: bool. True for a SavedModel whose weights cannot train (one
            frozen block): only feature extraction applies, and there is no
            random initialisation.
        family: str. Whose training recipe (learning rates) applies:
            `"imagenet"`, `"lab"` or `"audioset"` (`tl_templates.planning.budgets`).
    """

    name: str
    constructor: str
    preprocessing: str
    blocks: tuple
    default_input_size: int = 224
    min_input_size: int = 32
    pretrained: str = "imagenet"
    source_examples: int = IMAGENET_TRAIN_IMAGES
    description: str = ""
    constructor_kwargs: tuple = ()
    input_kind: str = "image"
    frozen: bool = False
    family: str = "imagenet"

    def input_shape(self, size=None):
        """The input shape for `size` (default: `default_input_size`):
        `(size, size, 3)` for images, `(size,)` samples for audio."""
        size = int(size or self.default_input_size)
        return (size,) if self.input_kind == "audio" else (size, size, 3)

    @property
    def block_names(self):
        return [block_name for block_name, _ in self.blocks]

    @property
    def source(self):
        return self.constructor.rsplit(".", 1)[0]


def _stages(pattern_format, count):
    """`("block1", pattern_format.format(1)), ...` for `count` stages."""
    return tuple((f"block{index}", pattern_format.format(index)) for index in range(1, count + 1))


STEM = ("stem", None)

# EfficientNet: keras names its seven stages block1a_ ... block7x_.
_EFFICIENTNET_BLOCKS = (STEM, *_stages(r"^block{}[a-z]_", 7), ("top", r"^top_"))
# EfficientNetV2-B*: six stages.
_EFFICIENTNETV2_BLOCKS = (STEM, *_stages(r"^block{}[a-z]_", 6), ("top", r"^top_"))
# MobileNetV2: keras numbers 17 inverted-residual units (expanded_conv, block_1
# ... block_16); the blocks are the paper's 7 stages of equal width.
_MOBILENETV2_BLOCKS = (
    STEM,
    ("block1", r"^expanded_conv_"),
    ("block2", r"^block_(1|2)_"),
    ("block3", r"^block_(3|4|5)_"),
    ("block4", r"^block_(6|7|8|9)_"),
    ("block5", r"^block_(10|11|12)_"),
    ("block6", r"^block_(13|14|15)_"),
    ("block7", r"^block_16_"),
    ("top", r"^Conv_1"),
)
# MobileNetV3: units expanded_conv, expanded_conv_1, ...; blocks are the
# paper's stages of equal width.
_MOBILENETV3SMALL_BLOCKS = (
    STEM,
    ("block1", r"^expanded_conv_[a-z]"),
    ("block2", r"^expanded_conv_(1|2)_"),
    ("block3", r"^expanded_conv_(3|4|5)_"),
    ("block4", r"^expanded_conv_(6|7)_"),
    ("block5", r"^expanded_conv_(8|9|10)_"),
    ("top", r"^conv_1"),
)
_MOBILENETV3LARGE_BLOCKS = (
    STEM,
    ("block1", r"^expanded_conv_[a-z]"),
    ("block2", r"^expanded_conv_(1|2)_"),
    ("block3", r"^expanded_conv_(3|4|5)_"),
    ("block4", r"^expanded_conv_(6|7|8|9)_"),
    ("block5", r"^expanded_conv_(10|11)_"),
    ("block6", r"^expanded_conv_(12|13|14)_"),
    ("top", r"^conv_1"),
)
# ResNet: keras stages conv2_ ... conv5_ (the paper's conv2_x ... conv5_x).
_RESNET_BLOCKS = (
    STEM,
    ("block1", r"^conv2_"),
    ("block2", r"^conv3_"),
    ("block3", r"^conv4_"),
    ("block4", r"^conv5_"),
)
_RESNETV2_BLOCKS = (*_RESNET_BLOCKS, ("top", r"^post_"))
# VGG16 and Xception: keras already names their blocks block1_ ... blockN_;
# the stem holds only the input and the preprocessing.
_VGG16_BLOCKS = (STEM, *_stages(r"^block{}_", 5))
_XCEPTION_BLOCKS = (STEM, *_stages(r"^block{}_", 14))
# DenseNet: dense blocks conv2_ ... conv5_; the transition layer (poolN_) that
# halves the resolution opens the next block.
_DENSENET_BLOCKS = (
    STEM,
    ("block1", r"^conv2_"),
    ("block2", r"^(pool2_|conv3_)"),
    ("block3", r"^(pool3_|conv4_)"),
    ("block4", r"^(pool4_|conv5_)"),
    ("top", r"^(bn|relu)$"),
)
# ConvNeXt: stages stage_0 ... stage_3, each but the first opened by its
# downsampling layer; the final LayerNormalization is the top.
_CONVNEXT_BLOCKS = (
    STEM,
    ("block1", r"_stage_0_"),
    ("block2", r"_(downsampling_block_0|stage_1_)"),
    ("block3", r"_(downsampling_block_1|stage_2_)"),
    ("block4", r"_(downsampling_block_2|stage_3_)"),
    ("top", r"^layer_normalization"),
)


def _keras_app(name, constructor, blocks, preprocessing="included", size=224, **extra):
    return BackboneSpec(
        name=name,
        constructor=f"keras.applications.{constructor}",
        preprocessing=preprocessing,
        blocks=blocks,
        default_input_size=size,
        min_input_size=extra.pop("min_size", 32),
        description=extra.pop("description", ""),
        constructor_kwargs=tuple(sorted(extra.items())),
    )


# The registry. Sizes are the ones the ImageNet weights were trained at.
_SPECS = (
    _keras_app(
        "mobilenetv2",
        "MobileNetV2",
        _MOBILENETV2_BLOCKS,
        "tf",
        description="MobileNetV2 1.0, 2.3M params: fast, mobile-friendly",
    ),
    _keras_app(
        "mobilenetv3small",
        "MobileNetV3Small",
        _MOBILENETV3SMALL_BLOCKS,
        description="MobileNetV3-Small, 0.9M params: the smallest ImageNet backbone",
    ),
    _keras_app(
        "mobilenetv3large",
        "MobileNetV3Large",
        _MOBILENETV3LARGE_BLOCKS,
        description="MobileNetV3-Large, 3.0M params",
    ),
    _keras_app(
        "efficientnetb0",
        "EfficientNetB0",
        _EFFICIENTNET_BLOCKS,
        description="EfficientNet-B0, 4.0M params: a strong default",
    ),
    _keras_app(
        "efficientnetb1",
        "EfficientNetB1",
        _EFFICIENTNET_BLOCKS,
        size=240,
        description="EfficientNet-B1, 6.6M params",
    ),
    _keras_app(
        "efficientnetb2",
        "EfficientNetB2",
        _EFFICIENTNET_BLOCKS,
        size=260,
        description="EfficientNet-B2, 7.8M params",
    ),
    _keras_app(
        "efficientnetb3",
        "EfficientNetB3",
        _EFFICIENTNET_BLOCKS,
        size=300,
        description="EfficientNet-B3, 10.8M params",
    ),
    _keras_app(
        "efficientnetv2b0",
        "EfficientNetV2B0",
        _EFFICIENTNETV2_BLOCKS,
        description="EfficientNetV2-B0, 5.9M params: fast training",
    ),
    _keras_app(
        "efficientnetv2b1",
        "EfficientNetV2B1",
        _EFFICIENTNETV2_BLOCKS,
        size=240,
        description="EfficientNetV2-B1, 6.9M params",
    ),
    _keras_app(
        "efficientnetv2b2",
        "EfficientNetV2B2",
        _EFFICIENTNETV2_BLOCKS,
        size=260,
        description="EfficientNetV2-B2, 8.8M params",
    ),
    _keras_app(
        "efficientnetv2b3",
        "EfficientNetV2B3",
        _EFFICIENTNETV2_BLOCKS,
        size=300,
        description="EfficientNetV2-B3, 12.9M params",
    ),
    _keras_app(
        "resnet50",
        "ResNet50",
        _RESNET_BLOCKS,
        "caffe",
        description="ResNet50, 23.6M params: the classic baseline",
    ),
    _keras_app(
        "resnet50v2",
        "ResNet50V2",
        _RESNETV2_BLOCKS,
        "tf",
        description="ResNet50V2 (pre-activation), 23.6M params",
    ),
    _keras_app(
        "vgg16",
        "VGG16",
        _VGG16_BLOCKS,
        "caffe",
        description="VGG16, 14.7M params: plain conv stack, easy to read",
    ),
    _keras_app(
        "xception",
        "Xception",
        _XCEPTION_BLOCKS,
        "tf",
        size=299,
        min_size=71,
        description="Xception, 20.9M params: separable convolutions",
    ),
    _keras_app(
        "densenet121",
        "DenseNet121",
        _DENSENET_BLOCKS,
        "torch",
        description="DenseNet121, 7.0M params: dense connections",
    ),
    _keras_app(
        "convnexttiny",
        "ConvNeXtTiny",
        _CONVNEXT_BLOCKS,
        description="ConvNeXt-Tiny, 27.8M params: modern all-conv design",
    ),
)

# Lab backbones: pretrained by the kit itself, shipped in data/ (offline demos).
_LAB_SPECS = (
    BackboneSpec(
        name="lab_glyphs",
        constructor="tl_templates.backbones.lab.build_lab_glyphs",
        preprocessing="included",
        blocks=(STEM, *_stages(r"^block{}_", 4), ("top", r"^top_")),
        default_input_size=32,
        pretrained="lab_glyphs/lab_glyphs.weights.h5",
        source_examples=LAB_GLYPHS_SOURCE_IMAGES,
        description="Lab CNN, 0.35M params, pretrained offline on rendered characters",
        family="lab",
    ),
)

# Audio backbones: 16 kHz waveforms in, with the log-mel front end in the stem.
# YAMNet (tl_templates.backbones.audio): its 14 layers grouped by resolution,
# like the stages of the MobileNetV1 it is.
_YAMNET_BLOCKS = (
    STEM,  # waveform, log-mel front end, layer1 (3x3 conv)
    ("block1", r"^layer2_"),
    ("block2", r"^layer(3|4)_"),
    ("block3", r"^layer(5|6)_"),
    ("block4", r"^layer(7|8|9|10|11|12)_"),
    ("block5", r"^layer(13|14)_"),
)
_AUDIO_SPECS = (
    BackboneSpec(
        name="yamnet",
        constructor="tl_templates.backbones.audio.build_yamnet",
        preprocessing="included",
        blocks=_YAMNET_BLOCKS,
        default_input_size=AUDIO_PATCH_SAMPLES,
        min_input_size=AUDIO_PATCH_SAMPLES,
        pretrained=YAMNET_WEIGHTS_URL,
        source_examples=AUDIOSET_CLIPS,
        description="YAMNet (MobileNetV1 on log-mel patches), 3.2M params, AudioSet weights",
        input_kind="audio",
        family="audioset",
    ),
    BackboneSpec(
        name="yamnet_hub",
        constructor="tl_templates.backbones.audio.build_yamnet_hub",
        preprocessing="included",
        blocks=(STEM,),
        default_input_size=AUDIO_PATCH_SAMPLES,
        min_input_size=AUDIO_PATCH_SAMPLES,
        pretrained=YAMNET_HUB_HANDLE,
        source_examples=AUDIOSET_CLIPS,
        description="YAMNet from TensorFlow Hub: one frozen block, 1024-d embeddings",
        input_kind="audio",
        frozen=True,
        family="audioset",
    ),
    BackboneSpec(
        name="lab_speech",
        constructor="tl_templates.backbones.lab.build_lab_speech",
        preprocessing="included",
        blocks=(STEM, *_stages(r"^block{}_", 4), ("top", r"^top_")),
        default_input_size=AUDIO_PATCH_SAMPLES,
        min_input_size=AUDIO_PATCH_SAMPLES,
        pretrained="lab_speech/lab_speech.weights.h5",
        source_examples=LAB_SPEECH_SOURCE_CLIPS,
        description="Lab audio CNN, 0.25M params, pretrained offline on synthesized words",
        input_kind="audio",
        family="lab",
    ),
)

BACKBONES = {spec.name: spec for spec in (*_SPECS, *_LAB_SPECS, *_AUDIO_SPECS)}


def _normalise(name):
    return re.sub(r"[-_ ]", "", str(name)).lower()


_BY_NORMALISED_NAME = {_normalise(name): spec for name, spec in BACKBONES.items()}


def backbone_names():
    """Registered backbone names, in registry order."""
    return list(BACKBONES)


def get_spec(name):
    """The registry row for `name` (case, `-` and `_` ignored).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    spec = _BY_NORMALISED_NAME.get(_normalise(name))
    if spec is None:
        raise ValueError(
            f"Unknown backbone. Received: backbone={name!r}. "
            f"Known backbones: {', '.join(backbone_names())}."
        )
    return spec
