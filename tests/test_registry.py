import pytest

import tl_templates
from tl_templates.backbones import registry

EXPECTED_PUBLIC_SURFACE = [
    "AudioAugmentation",
    "AudioFolder",
    "AudioSplits",
    "AutoChoice",
    "BackboneSpec",
    "Block",
    "ContrastiveLoss",
    "DoctorReport",
    "ExportMeasure",
    "GradientReversal",
    "HubAudioEmbedding",
    "ImageFolder",
    "ImageNetPreprocessing",
    "ImageSplits",
    "LabelTable",
    "LogMelSpectrogram",
    "MaskedBinaryCrossentropy",
    "MaskedHuber",
    "MaskedSparseCategoricalCrossentropy",
    "MultiTaskModel",
    "Plan",
    "TaskHead",
    "TaskUncertainty",
    "TrainingRun",
    "TripletLoss",
    "UnsafeModelError",
    "WeightsUnavailableError",
    "accuracy_with_interval",
    "advise",
    "atomic_path",
    "auto_candidates",
    "backbone_names",
    "best_f1_threshold",
    "block_names",
    "block_table",
    "build_backbone",
    "build_dann",
    "build_embedding_model",
    "build_multitask_model",
    "check_dataset",
    "choose_class_weights",
    "choose_jit_compile",
    "choose_plan",
    "choose_precision",
    "choose_strategy",
    "classification_report",
    "classification_rows",
    "compile_multitask",
    "confusion_matrix",
    "describe_accuracy",
    "describe_export",
    "describe_report",
    "describe_strategy",
    "export_and_check",
    "export_each",
    "export_saved_model",
    "export_tflite",
    "few_shot_accuracy",
    "find_backbone",
    "find_input_files",
    "fit_to_length",
    "get_spec",
    "global_batch_size",
    "image_file_dataset",
    "imbalance_ratio",
    "is_chief",
    "list_blocks",
    "load_audio_splits",
    "load_digits_to_photos",
    "load_image",
    "load_image_splits",
    "load_model",
    "load_yamnet_weights",
    "masked_binary_crossentropy",
    "masked_huber",
    "masked_sparse_categorical_crossentropy",
    "merge_splits",
    "parse_utkface_name",
    "phase_budgets",
    "pick_by_bootstrap",
    "pick_by_validation",
    "plan_strategy",
    "plot_confusion_matrix",
    "plot_history",
    "plot_task_history",
    "positive_weights",
    "precision_recall",
    "predict_files",
    "prepare_output_folder",
    "read_face_labels",
    "read_history",
    "read_label_csv",
    "read_wav",
    "recall_at_k",
    "refit",
    "roc_auc",
    "run_tflite",
    "run_versions",
    "scan_audio_folder",
    "scan_image_folder",
    "scan_utkface_folder",
    "seed_everything",
    "set_aside_run",
    "set_precision",
    "set_trainable",
    "should_refit",
    "sliding_windows",
    "split_examples",
    "target_statistics",
    "train_candidates",
    "train_classifier",
    "train_multitask",
    "truncate_backbone",
    "use_logical_cpus",
    "wilson_interval",
    "worker_output_dir",
    "write_json_atomic",
    "write_metrics",
    "write_predictions_csv",
    "write_text_atomic",
]

REQUIRED_BACKBONES = [
    "mobilenetv2", "mobilenetv3small", "mobilenetv3large",
    "efficientnetb0", "efficientnetb1", "efficientnetb2", "efficientnetb3",
    "efficientnetv2b0", "efficientnetv2b1", "efficientnetv2b2", "efficientnetv2b3",
    "resnet50", "resnet50v2", "vgg16", "xception", "densenet121", "convnexttiny",
]  # fmt: skip


def test_public_surface_is_pinned():
    assert tl_templates.__all__ == EXPECTED_PUBLIC_SURFACE
    for name in EXPECTED_PUBLIC_SURFACE:
        assert getattr(tl_templates, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'build_bakbone'"):
        tl_templates.build_bakbone  # noqa: B018


def test_registry_has_the_required_backbones():
    assert set(REQUIRED_BACKBONES) <= set(tl_templates.backbone_names())


@pytest.mark.parametrize("alias", ["EfficientNetB0", "efficientnet-b0", "efficientnet_b0"])
def test_names_ignore_case_and_separators(alias):
    assert tl_templates.get_spec(alias).name == "efficientnetb0"


def test_unknown_backbone_lists_the_known_ones():
    with pytest.raises(ValueError) as error:
        tl_templates.get_spec("resnet51")
    message = str(error.value)
    assert "backbone='resnet51'" in message
    for name in REQUIRED_BACKBONES:
        assert name in message


@pytest.mark.parametrize("spec", registry.BACKBONES.values(), ids=lambda spec: spec.name)
def test_every_row_is_well_formed(spec):
    names = spec.block_names
    assert names[0] == "stem" and spec.blocks[0][1] is None
    assert len(set(names)) == len(names)
    middle = [name for name in names if name not in ("stem", "top")]
    assert middle == [f"block{index}" for index in range(1, len(middle) + 1)]
    assert "top" not in names or names[-1] == "top"
    assert spec.preprocessing in ("included", "tf", "torch", "caffe")
    assert spec.min_input_size <= spec.default_input_size
