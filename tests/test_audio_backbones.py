"""Audio backbones: YAMNet's blocks and weights file, the TF-Hub wrapper, the advisor."""

import re

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import tl_templates
from tl_templates.backbones import audio as audio_backbones

CLIP = 15_600


def waveforms(count, seed=0):
    return np.random.default_rng(seed).normal(0, 0.1, (count, CLIP)).astype("float32")


def test_yamnet_blocks_follow_its_layer_groups():
    backbone = tl_templates.build_backbone("yamnet", weights=None)
    expected = {"stem": [1], "block1": [2], "block2": [3, 4], "block3": [5, 6],
                "block4": [7, 8, 9, 10, 11, 12], "block5": [13, 14]}  # fmt: skip
    for block in tl_templates.list_blocks(backbone):
        numbers = {
            int(m.group(1)) for layer in block.layers if (m := re.match(r"layer(\d+)_", layer.name))
        }
        assert sorted(numbers) == expected[block.name], block.name
    assert backbone.count_params() == 3_217_344  # YAMNet's 3.7M without its AudioSet classifier
    assert backbone.output.shape == (None, 3, 2, 1024)


def keras2_name(name):
    """`layer2_depthwise_conv_bn` -> `layer2/depthwise_conv/bn`, YAMNet's own layer names."""
    return re.sub(r"^(layer\d+)_", r"\1/", name).replace("_bn", "/bn")


def write_published_format(model, path):
    """Writes `model`'s weights the way Keras 2 wrote yamnet.h5: layers named
    with `/`, variables named `<layer>/<weight>:0`, plus YAMNet's classifier."""
    entries = []
    for layer in model.layers:
        if layer.weights:
            depthwise = isinstance(layer, keras.layers.DepthwiseConv2D)
            names = ["depthwise_kernel"] if depthwise else [weight.name for weight in layer.weights]
            values = [weight.numpy() for weight in layer.weights]
            entries.append((keras2_name(layer.name), list(zip(names, values, strict=True))))
    rng = np.random.default_rng(0)
    entries.append(("logits", [("kernel", rng.normal(size=(1024, 521))), ("bias", np.zeros(521))]))
    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = [name.encode() for name, _ in entries]
        file.attrs["backend"] = b"tensorflow"
        file.attrs["keras_version"] = b"2.3.0-tf"
        for name, weights in entries:
            group = file.create_group(name)
            names = [f"{name}/{weight_name}:0" for weight_name, _ in weights]
            group.attrs["weight_names"] = [weight_name.encode() for weight_name in names]
            for weight_name, (_, value) in zip(names, weights, strict=True):
                group.create_dataset(weight_name, data=value)


def test_yamnet_loads_the_published_keras_weights_file_by_path(tmp_path):
    source = tl_templates.build_backbone("yamnet", weights=None)
    # Non-trivial batch statistics, so that a mix-up between them would show.
    for layer in source.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_variance.assign(
                np.random.default_rng(1).uniform(0.5, 2, layer.moving_variance.shape)
            )
    path = tmp_path / "yamnet.h5"
    write_published_format(source, path)

    loaded = tl_templates.build_backbone("yamnet", weights=str(path))

    clips = waveforms(2)
    np.testing.assert_allclose(
        loaded.predict(clips, verbose=0), source.predict(clips, verbose=0), rtol=1e-5, atol=1e-5
    )
    with h5py.File(path, "r+") as file:
        del file["layer5/pointwise_conv"]
    with pytest.raises(ValueError, match="no weights for layer 'layer5_pointwise_conv'"):
        tl_templates.build_backbone("yamnet", weights=str(path))


@pytest.mark.parametrize(
    "trap", ["external link", "soft link", "virtual", "external storage", "huge"]
)
def test_yamnet_weights_refuse_files_that_read_elsewhere_or_are_huge(tmp_path, trap):
    model = tl_templates.build_backbone("yamnet", weights=None)
    path, other = tmp_path / "yamnet.h5", tmp_path / "secret.h5"
    write_published_format(model, path)
    with h5py.File(other, "w") as file:
        file.create_dataset("data", data=np.arange(4.0))
    with h5py.File(path, "r+") as file:
        group = file["layer1/conv"]
        name = "layer1/conv/kernel:0"
        del group[name]
        if trap == "external link":
            group[name] = h5py.ExternalLink(str(other), "/data")
        elif trap == "soft link":
            group[name] = h5py.SoftLink("/layer2/depthwise_conv")
        elif trap == "virtual":
            layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
            layout[:] = h5py.VirtualSource(str(other), "data", shape=(4,))
            group.create_virtual_dataset(name, layout)
        elif trap == "external storage":
            group.create_dataset(name, shape=(4,), dtype="f8", external=[(str(other), 0, 32)])
        else:  # a chunked dataset declared huge: nearly nothing on disk
            group.create_dataset(name, shape=(1 << 30,), dtype="f4", chunks=(1024,))
    with pytest.raises(ValueError, match="Refusing to read weights file") as error:
        audio_backbones.load_yamnet_weights(model, path)
    assert str(path) in str(error.value) and "/layer1/conv/layer1/conv/kernel:0" in str(error.value)


def test_yamnet_pretrained_offline_explains_how_to_get_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty cache: a download is needed
    with pytest.raises(tl_templates.WeightsUnavailableError) as error:
        tl_templates.build_backbone("yamnet", weights="http://127.0.0.1:9/yamnet.h5")
    assert "yamnet.h5" in str(error.value) and "weights=None" in str(error.value)


class TinyYamnetLike(tf.Module):
    """A SavedModel with YAMNet's interface: a 1-D waveform in; per-patch
    scores, per-patch embeddings and a spectrogram out."""

    def __init__(self):
        super().__init__()
        self.projection = tf.Variable(
            np.random.default_rng(0).normal(size=(60, 8)), dtype=tf.float32
        )

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def __call__(self, waveform):
        return self.outputs(waveform)

    def outputs(self, waveform):
        patches = tf.signal.frame(waveform, CLIP, 7_680)  # 0.975 s patches every 0.48 s
        energies = tf.reduce_mean(tf.reshape(tf.square(patches), [-1, 60, 260]), axis=-1)
        embeddings = tf.matmul(energies, self.projection)
        return tf.nn.sigmoid(embeddings[:, :3]), embeddings, energies


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("hub") / "tiny_yamnet"
    tf.saved_model.save(TinyYamnetLike(), str(path))
    return path


def hub_classifier(saved_model):
    backbone = tl_templates.build_backbone("yamnet_hub", weights=str(saved_model))
    clips = keras.Input((CLIP,))
    outputs = keras.layers.Dense(2, activation="softmax", name="head")(backbone(clips))
    return backbone, keras.Model(clips, outputs)


def test_hub_wrapper_averages_the_savedmodels_patch_embeddings(saved_model):
    backbone = tl_templates.build_backbone("yamnet_hub", weights=str(saved_model))
    clips = np.random.default_rng(2).normal(0, 0.1, (3, 2 * CLIP)).astype("float32")
    wide = tl_templates.build_backbone(
        "yamnet_hub", input_shape=(2 * CLIP,), weights=str(saved_model)
    )
    module = tf.saved_model.load(str(saved_model))
    expected = np.stack([module(clip)[1].numpy().mean(axis=0) for clip in clips])

    np.testing.assert_allclose(wide.predict(clips, verbose=0), expected, rtol=1e-5)
    assert backbone.output.shape == (None, 8)
    blocks = tl_templates.list_blocks(backbone)
    assert (
        [block.name for block in blocks]
        == ["stem"]
        == tl_templates.get_spec("yamnet_hub").block_names
    )
    assert [layer.name for layer in blocks[0].layers] == [layer.name for layer in backbone.layers]
    assert blocks[0].trainable == "no"


def test_hub_backbone_is_frozen_its_features_are_cached_and_it_saves(saved_model, tmp_path):
    backbone, model = hub_classifier(saved_model)
    tl_templates.set_trainable(model, from_block="stem")  # asking cannot unfreeze a SavedModel
    assert {id(w) for w in model.trainable_weights} == {
        id(w) for w in model.get_layer("head").weights
    }
    variable = backbone.get_layer("hub_embedding")._module.projection
    before = variable.numpy().copy()

    plan = tl_templates.advise(target_examples=16, backbone="yamnet_hub", input_kind="audio")
    assert plan.strategy == "feature_extraction"
    clips, labels = waveforms(16, seed=3), np.arange(16) % 2
    clips[labels == 1] *= 4  # louder clips: class 1
    phases = tl_templates.train_classifier(
        model, plan, (clips[:12], labels[:12]), (clips[12:], labels[12:]), head_epochs=3,
        fine_tune_epochs=2, batch_size=8, output_dir=tmp_path / "out", verbose=0,
    )  # fmt: skip
    assert [phase.name for phase in phases] == ["feature_extraction"]
    assert phases[0].cached_features
    np.testing.assert_array_equal(variable.numpy(), before)

    model.save(tmp_path / "model.keras")
    # A file that names a SavedModel loads only when trusted (tests/test_saving.py).
    loaded = tl_templates.load_model(tmp_path / "model.keras", safe_mode=False)
    np.testing.assert_allclose(
        loaded.predict(clips, verbose=0), model.predict(clips, verbose=0), rtol=1e-5
    )


class FileWritingYamnetLike(TinyYamnetLike):
    """A crafted SavedModel: YAMNet's interface, and running it writes a file."""

    def __init__(self, marker):
        super().__init__()
        self.marker = marker

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def __call__(self, waveform):
        with tf.control_dependencies([tf.io.write_file(self.marker, "the graph ran")]):
            waveform = tf.identity(waveform)
        return self.outputs(waveform)


def test_safe_mode_refuses_a_file_naming_a_savedmodel_before_running_it(tmp_path):
    marker = tmp_path / "written_by_the_graph.txt"
    crafted = tmp_path / "crafted_savedmodel"
    tf.saved_model.save(FileWritingYamnetLike(str(marker)), str(crafted))
    model = tl_templates.build_backbone("yamnet_hub", weights=str(crafted))
    path = tmp_path / "crafted.keras"
    model.save(path)
    marker.unlink()  # building the model ran the graph once
    keras.backend.clear_session()

    with pytest.raises(tl_templates.UnsafeModelError, match="safe_mode=False") as error:
        tl_templates.load_model(path)
    assert "hub_embedding" in str(error.value) and "load_weights" in str(error.value)
    # Keras' own loader in safe mode: the layer's from_config refuses, before hub.load.
    with pytest.raises(ValueError, match="Refusing to build HubAudioEmbedding"):
        keras.saving.load_model(path, safe_mode=True)
    assert not marker.exists()

    trusted = tl_templates.load_model(path, safe_mode=False)  # the owner trusts the file
    assert trusted.output_shape == (None, 8) and marker.exists()


def test_hub_layer_constructor_reads_nothing(tmp_path):
    layer = tl_templates.HubAudioEmbedding(str(tmp_path / "missing"), name="hub")
    with pytest.raises(ValueError, match="from_handle"):
        layer(keras.Input((CLIP,)))


def test_hub_backbone_needs_a_handle_or_a_folder(tmp_path):
    with pytest.raises(ValueError, match="no random initialisation"):
        tl_templates.build_backbone("yamnet_hub", weights=None)
    with pytest.raises(FileNotFoundError, match="SavedModel folder"):
        tl_templates.build_backbone("yamnet_hub", weights=str(tmp_path / "missing"))


def test_the_advisor_uses_the_backbones_input_kind():
    assert tl_templates.advise(60, backbone="lab_speech", input_kind="audio").strategy == (
        "feature_extraction"
    )
    image_backbone = tl_templates.advise(60, backbone="efficientnetb0", input_kind="audio")
    assert image_backbone.strategy == "train_from_scratch"
    assert "another kind of input" in image_backbone.reasons[0]
    large = tl_templates.advise(20_000, backbone="yamnet", input_kind="audio")
    assert large.strategy == "fine_tune_top" and large.trainable_blocks == ["block4", "block5"]
    frozen = tl_templates.plan_strategy("fine_tune_all", "yamnet_hub")
    assert frozen.strategy == "feature_extraction" and "frozen SavedModel" in frozen.reasons[-1]
    with pytest.raises(ValueError, match="input_kind='video'"):
        tl_templates.advise(60, input_kind="video")


def test_audio_backbones_refuse_image_shapes():
    with pytest.raises(ValueError, match=r"waveforms \(samples,\)"):
        tl_templates.build_backbone("lab_speech", input_shape=(32, 32, 3), weights=None)
    with pytest.raises(ValueError, match="at least 15600 samples"):
        tl_templates.build_backbone("lab_speech", input_shape=(8000,), weights=None)


def test_cli_blocks_shows_an_audio_backbone(capsys):
    from tl_templates import cli

    assert cli.main(["blocks", "lab_speech"]) == 0
    out = capsys.readouterr().out
    assert "input 15600 samples" in out
    assert [line.split()[0] for line in out.splitlines()[4:]] == [
        "stem", "block1", "block2", "block3", "block4", "top", "total",
    ]  # fmt: skip
    assert cli.main(["blocks", "yamnet_hub"]) == 1
    assert "no random initialisation" in capsys.readouterr().err
    args = ["advise", "--target-examples", "40", "--input-kind", "audio", "--backbone"]
    assert cli.main([*args, "resnet50"]) == 0
    assert capsys.readouterr().out.startswith("strategy: train_from_scratch")
    assert cli.main([*args, "yamnet"]) == 0
    assert capsys.readouterr().out.startswith("strategy: feature_extraction")
