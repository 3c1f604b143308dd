"""tl-templates: transfer learning and multi-task learning for Keras 3.

The public surface is `__all__`; everything else is private. Names are
imported on first use, so `import tl_templates` (and the CLI's quick
commands) do not pay for importing TensorFlow until a model is needed.
"""

import importlib
from importlib import metadata

try:
    # The installed distribution's version: pyproject.toml is the one place it is kept.
    __version__ = metadata.version("tl-templates")
except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0+unknown"

# Public name -> the module that defines it.
_EXPORTS = {
    "BackboneSpec": "tl_templates.registry",
    "backbone_names": "tl_templates.registry",
    "get_spec": "tl_templates.registry",
    "Plan": "tl_templates.advisor",
    "advise": "tl_templates.advisor",
    "choose_plan": "tl_templates.advisor",
    "plan_strategy": "tl_templates.advisor",
    "AutoChoice": "tl_templates.auto_strategy",
    "auto_candidates": "tl_templates.auto_strategy",
    "merge_splits": "tl_templates.auto_strategy",
    "pick_by_bootstrap": "tl_templates.auto_strategy",
    "refit": "tl_templates.auto_strategy",
    "should_refit": "tl_templates.auto_strategy",
    "pick_by_validation": "tl_templates.auto_strategy",
    "train_candidates": "tl_templates.auto_strategy",
    "phase_budgets": "tl_templates.budgets",
    "accuracy_with_interval": "tl_templates.intervals",
    "describe_accuracy": "tl_templates.intervals",
    "wilson_interval": "tl_templates.intervals",
    "ImageFolder": "tl_templates.image_folder",
    "ImageSplits": "tl_templates.image_folder",
    "load_image": "tl_templates.image_folder",
    "load_image_splits": "tl_templates.image_folder",
    "scan_image_folder": "tl_templates.image_folder",
    "WeightsUnavailableError": "tl_templates.backbones",
    "build_backbone": "tl_templates.backbones",
    "Block": "tl_templates.blocks",
    "block_names": "tl_templates.blocks",
    "block_table": "tl_templates.blocks",
    "find_backbone": "tl_templates.blocks",
    "list_blocks": "tl_templates.blocks",
    "set_trainable": "tl_templates.blocks",
    "truncate_backbone": "tl_templates.blocks",
    "ImageNetPreprocessing": "tl_templates.preprocessing",
    "load_model": "tl_templates.saving",
    "UnsafeModelError": "tl_templates.saving",
    "TrainingRun": "tl_templates.resume",
    "set_aside_run": "tl_templates.resume",
    "prepare_output_folder": "tl_templates.run_folder",
    "write_metrics": "tl_templates.run_folder",
    "run_versions": "tl_templates.versions",
    "seed_everything": "tl_templates.seeding",
    "atomic_path": "tl_templates.atomic",
    "write_json_atomic": "tl_templates.atomic",
    "write_text_atomic": "tl_templates.atomic",
    "DoctorReport": "tl_templates.doctor",
    "check_dataset": "tl_templates.doctor",
    "plot_history": "tl_templates.training",
    "read_history": "tl_templates.training",
    "train_classifier": "tl_templates.training",
    "GradientReversal": "tl_templates.domain",
    "build_dann": "tl_templates.domain",
    "load_digits_to_photos": "tl_templates.domain_shift",
    "ContrastiveLoss": "tl_templates.metric_learning",
    "TripletLoss": "tl_templates.metric_learning",
    "build_embedding_model": "tl_templates.metric_learning",
    "few_shot_accuracy": "tl_templates.metric_learning",
    "recall_at_k": "tl_templates.metric_learning",
    "MultiTaskModel": "tl_templates.multitask",
    "TaskHead": "tl_templates.multitask",
    "TaskUncertainty": "tl_templates.multitask",
    "build_multitask_model": "tl_templates.multitask",
    "compile_multitask": "tl_templates.multitask",
    "positive_weights": "tl_templates.multitask",
    "target_statistics": "tl_templates.multitask",
    "MaskedBinaryCrossentropy": "tl_templates.multitask_losses",
    "MaskedHuber": "tl_templates.multitask_losses",
    "MaskedSparseCategoricalCrossentropy": "tl_templates.multitask_losses",
    "masked_binary_crossentropy": "tl_templates.multitask_losses",
    "masked_huber": "tl_templates.multitask_losses",
    "masked_sparse_categorical_crossentropy": "tl_templates.multitask_losses",
    "best_f1_threshold": "tl_templates.multitask_metrics",
    "precision_recall": "tl_templates.multitask_metrics",
    "roc_auc": "tl_templates.multitask_metrics",
    "LabelTable": "tl_templates.multitask_data",
    "parse_utkface_name": "tl_templates.multitask_data",
    "read_face_labels": "tl_templates.multitask_data",
    "read_label_csv": "tl_templates.multitask_data",
    "scan_utkface_folder": "tl_templates.multitask_data",
    "split_examples": "tl_templates.multitask_data",
    "plot_task_history": "tl_templates.multitask_training",
    "train_multitask": "tl_templates.multitask_training",
    "fit_to_length": "tl_templates.audio",
    "read_wav": "tl_templates.audio",
    "sliding_windows": "tl_templates.audio",
    "AudioAugmentation": "tl_templates.audio_frontend",
    "LogMelSpectrogram": "tl_templates.audio_frontend",
    "AudioFolder": "tl_templates.audio_folder",
    "AudioSplits": "tl_templates.audio_folder",
    "load_audio_splits": "tl_templates.audio_folder",
    "scan_audio_folder": "tl_templates.audio_folder",
    "HubAudioEmbedding": "tl_templates.audio_backbones",
    "load_yamnet_weights": "tl_templates.audio_backbones",
    "export_tflite": "tl_templates.tflite",
    "ExportMeasure": "tl_templates.export",
    "describe_export": "tl_templates.export",
    "export_and_check": "tl_templates.export",
    "export_each": "tl_templates.export",
    "export_saved_model": "tl_templates.export",
    "classification_rows": "tl_templates.predictions",
    "classification_report": "tl_templates.reports",
    "confusion_matrix": "tl_templates.reports",
    "describe_report": "tl_templates.reports",
    "plot_confusion_matrix": "tl_templates.reports",
    "choose_class_weights": "tl_templates.class_weights",
    "imbalance_ratio": "tl_templates.class_weights",
    "find_input_files": "tl_templates.predictions",
    "predict_files": "tl_templates.predictions",
    "write_predictions_csv": "tl_templates.predictions",
    "choose_jit_compile": "tl_templates.acceleration",
    "choose_precision": "tl_templates.acceleration",
    "set_precision": "tl_templates.acceleration",
    "image_file_dataset": "tl_templates.pipelines",
    "run_tflite": "tl_templates.tflite",
    "choose_strategy": "tl_templates.distribute",
    "describe_strategy": "tl_templates.distribute",
    "global_batch_size": "tl_templates.distribute",
    "is_chief": "tl_templates.distribute",
    "use_logical_cpus": "tl_templates.distribute",
    "worker_output_dir": "tl_templates.distribute",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tl_templates' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])
