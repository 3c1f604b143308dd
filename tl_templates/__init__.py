"""tl-templates: transfer learning and multi-task learning for Keras 3.

The public surface is `__all__`; everything else is private. Names are
imported on first use, so `import tl_templates` (and the CLI's quick
commands) do not pay for importing TensorFlow until a model is needed.
"""

import importlib
from importlib import metadata

from tl_templates import _moved

try:
    # The installed distribution's version: pyproject.toml is the one place it is kept.
    __version__ = metadata.version("tl-templates")
except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
    __version__ = "0+unknown"

# Public name -> the module that defines it.
_EXPORTS = {
    "BackboneSpec": "tl_templates.backbones.registry",
    "backbone_names": "tl_templates.backbones.registry",
    "get_spec": "tl_templates.backbones.registry",
    "Plan": "tl_templates.planning.advisor",
    "advise": "tl_templates.planning.advisor",
    "choose_plan": "tl_templates.planning.advisor",
    "plan_strategy": "tl_templates.planning.advisor",
    "AutoChoice": "tl_templates.planning.auto_strategy",
    "auto_candidates": "tl_templates.planning.auto_strategy",
    "merge_splits": "tl_templates.planning.auto_strategy",
    "pick_by_bootstrap": "tl_templates.planning.auto_strategy",
    "refit": "tl_templates.planning.auto_strategy",
    "should_refit": "tl_templates.planning.auto_strategy",
    "pick_by_validation": "tl_templates.planning.auto_strategy",
    "train_candidates": "tl_templates.planning.auto_strategy",
    "phase_budgets": "tl_templates.planning.budgets",
    "accuracy_with_interval": "tl_templates.evaluation.intervals",
    "describe_accuracy": "tl_templates.evaluation.intervals",
    "wilson_interval": "tl_templates.evaluation.intervals",
    "ImageFolder": "tl_templates.data.image_folder",
    "ImageSplits": "tl_templates.data.image_folder",
    "load_image": "tl_templates.data.image_folder",
    "load_image_splits": "tl_templates.data.image_folder",
    "scan_image_folder": "tl_templates.data.image_folder",
    "WeightsUnavailableError": "tl_templates.backbones.build",
    "build_backbone": "tl_templates.backbones.build",
    "Block": "tl_templates.backbones.blocks",
    "block_names": "tl_templates.backbones.blocks",
    "block_table": "tl_templates.backbones.blocks",
    "find_backbone": "tl_templates.backbones.blocks",
    "list_blocks": "tl_templates.backbones.blocks",
    "set_trainable": "tl_templates.backbones.blocks",
    "truncate_backbone": "tl_templates.backbones.blocks",
    "ImageNetPreprocessing": "tl_templates.backbones.preprocessing",
    "load_model": "tl_templates.training.saving",
    "UnsafeModelError": "tl_templates.training.saving",
    "TrainingRun": "tl_templates.training.resume",
    "set_aside_run": "tl_templates.training.resume",
    "prepare_output_folder": "tl_templates.project.output_folder",
    "write_metrics": "tl_templates.project.output_folder",
    "run_versions": "tl_templates.project.versions",
    "seed_everything": "tl_templates.training.seeding",
    "atomic_path": "tl_templates.project.atomic",
    "write_json_atomic": "tl_templates.project.atomic",
    "write_text_atomic": "tl_templates.project.atomic",
    "DoctorReport": "tl_templates.data.doctor",
    "check_dataset": "tl_templates.data.doctor",
    "plot_history": "tl_templates.training.classifier",
    "read_history": "tl_templates.training.classifier",
    "train_classifier": "tl_templates.training.classifier",
    "GradientReversal": "tl_templates.tasks.domain",
    "build_dann": "tl_templates.tasks.domain",
    "load_digits_to_photos": "tl_templates.experiments.domain_shift",
    "ContrastiveLoss": "tl_templates.tasks.metric_learning",
    "TripletLoss": "tl_templates.tasks.metric_learning",
    "build_embedding_model": "tl_templates.tasks.metric_learning",
    "few_shot_accuracy": "tl_templates.tasks.metric_learning",
    "recall_at_k": "tl_templates.tasks.metric_learning",
    "MultiTaskModel": "tl_templates.tasks.multitask",
    "TaskHead": "tl_templates.tasks.multitask",
    "TaskUncertainty": "tl_templates.tasks.multitask",
    "build_multitask_model": "tl_templates.tasks.multitask",
    "compile_multitask": "tl_templates.tasks.multitask",
    "positive_weights": "tl_templates.tasks.multitask",
    "target_statistics": "tl_templates.tasks.multitask",
    "MaskedBinaryCrossentropy": "tl_templates.tasks.losses",
    "MaskedHuber": "tl_templates.tasks.losses",
    "MaskedSparseCategoricalCrossentropy": "tl_templates.tasks.losses",
    "masked_binary_crossentropy": "tl_templates.tasks.losses",
    "masked_huber": "tl_templates.tasks.losses",
    "masked_sparse_categorical_crossentropy": "tl_templates.tasks.losses",
    "best_f1_threshold": "tl_templates.tasks.metrics",
    "precision_recall": "tl_templates.tasks.metrics",
    "roc_auc": "tl_templates.tasks.metrics",
    "LabelTable": "tl_templates.data.labels",
    "parse_utkface_name": "tl_templates.data.labels",
    "read_face_labels": "tl_templates.data.labels",
    "read_label_csv": "tl_templates.data.labels",
    "scan_utkface_folder": "tl_templates.data.labels",
    "split_examples": "tl_templates.data.splits",
    "plot_task_history": "tl_templates.training.multitask",
    "train_multitask": "tl_templates.training.multitask",
    "fit_to_length": "tl_templates.data.audio_files",
    "read_wav": "tl_templates.data.audio_files",
    "sliding_windows": "tl_templates.data.audio_files",
    "AudioAugmentation": "tl_templates.backbones.audio_frontend",
    "LogMelSpectrogram": "tl_templates.backbones.audio_frontend",
    "AudioFolder": "tl_templates.data.audio_folder",
    "AudioSplits": "tl_templates.data.audio_folder",
    "load_audio_splits": "tl_templates.data.audio_folder",
    "scan_audio_folder": "tl_templates.data.audio_folder",
    "HubAudioEmbedding": "tl_templates.backbones.audio",
    "load_yamnet_weights": "tl_templates.backbones.audio",
    "export_tflite": "tl_templates.deploy.tflite",
    "ExportMeasure": "tl_templates.deploy.export",
    "describe_export": "tl_templates.deploy.export",
    "export_and_check": "tl_templates.deploy.export",
    "export_each": "tl_templates.deploy.export",
    "export_saved_model": "tl_templates.deploy.export",
    "classification_rows": "tl_templates.deploy.predictions",
    "classification_report": "tl_templates.evaluation.reports",
    "confusion_matrix": "tl_templates.evaluation.reports",
    "describe_report": "tl_templates.evaluation.reports",
    "plot_confusion_matrix": "tl_templates.evaluation.reports",
    "choose_class_weights": "tl_templates.data.class_weights",
    "imbalance_ratio": "tl_templates.data.class_weights",
    "find_input_files": "tl_templates.deploy.predictions",
    "predict_files": "tl_templates.deploy.predictions",
    "write_predictions_csv": "tl_templates.deploy.predictions",
    "choose_jit_compile": "tl_templates.training.acceleration",
    "choose_precision": "tl_templates.training.acceleration",
    "set_precision": "tl_templates.training.acceleration",
    "image_file_dataset": "tl_templates.data.pipelines",
    "run_tflite": "tl_templates.deploy.tflite",
    "choose_strategy": "tl_templates.training.distribute",
    "describe_strategy": "tl_templates.training.distribute",
    "global_batch_size": "tl_templates.training.distribute",
    "is_chief": "tl_templates.training.distribute",
    "use_logical_cpus": "tl_templates.training.distribute",
    "worker_output_dir": "tl_templates.training.distribute",
}

__all__ = sorted(_EXPORTS)

# `import tl_templates.training` and the other paths of the flat layout keep working.
_moved.install()


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tl_templates' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])
