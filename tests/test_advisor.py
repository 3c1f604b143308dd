import pytest

import tl_templates
from tl_templates.planning import advisor

IMAGENET = 1_281_167
SMALL = advisor.LARGE_TARGET_MIN_EXAMPLES - 1
LARGE = advisor.LARGE_TARGET_MIN_EXAMPLES


@pytest.mark.parametrize(
    "target, similarity, strategy",
    [
        (SMALL, "similar", "feature_extraction"),
        (SMALL, "different", "truncate_and_fine_tune"),
        (LARGE, "similar", "fine_tune_top"),
        (LARGE, "different", "fine_tune_all"),
    ],
)
def test_the_four_cases(target, similarity, strategy):
    plan = tl_templates.advise(
        target_examples=target, source_examples=IMAGENET, similarity=similarity
    )
    assert plan.strategy == strategy
    assert plan.reasons and all(isinstance(reason, str) for reason in plan.reasons)


def test_blocks_to_train_for_each_case():
    def plan(target, similarity):
        return tl_templates.advise(
            target_examples=target, similarity=similarity, backbone="efficientnetb0"
        )

    extraction = plan(100, "similar")
    assert extraction.trainable_blocks == [] and extraction.fine_tune_learning_rate is None

    top = plan(LARGE, "similar")
    assert top.trainable_blocks == ["block6", "block7", "top"]
    assert top.fine_tune_learning_rate == advisor.FINE_TUNE_LEARNING_RATE

    truncated = plan(100, "different")  # 7 stages, keep ceil(3.5) = 4
    assert truncated.truncate_after == "block4"
    assert truncated.trainable_blocks == ["block1", "block2", "block3", "block4"]
    assert truncated.fine_tune_learning_rate == advisor.TRUNCATED_FINE_TUNE_LEARNING_RATE

    everything = plan(LARGE, "different")
    assert everything.trainable_blocks == tl_templates.get_spec("efficientnetb0").block_names


def test_fine_tune_learning_rate_is_far_below_the_head_rate():
    plan = tl_templates.advise(target_examples=LARGE, similarity="similar")
    assert plan.fine_tune_learning_rate <= plan.head_learning_rate / 10


def test_no_transfer_across_input_types():
    plan = tl_templates.advise(
        target_examples=100, source_examples=IMAGENET, same_input_type=False, backbone="vgg16"
    )
    assert plan.strategy == "train_from_scratch"
    assert plan.fine_tune_learning_rate is None
    assert plan.trainable_blocks == tl_templates.get_spec("vgg16").block_names
    assert "another kind of input" in plan.reasons[0]


def test_no_transfer_from_a_smaller_source():
    target = 2_000
    just_enough = advisor.MIN_SOURCE_TO_TARGET_RATIO * target
    assert tl_templates.advise(target, source_examples=just_enough).strategy != (
        "train_from_scratch"
    )
    plan = tl_templates.advise(target, source_examples=just_enough - 1)
    assert plan.strategy == "train_from_scratch"
    assert "far more data" in plan.reasons[0]
    assert tl_templates.advise(target, source_examples=500).strategy == "train_from_scratch"


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="similarity='same'.*similar, different"):
        tl_templates.advise(100, similarity="same")
    with pytest.raises(ValueError, match="target_examples=0"):
        tl_templates.advise(0)
    with pytest.raises(ValueError, match="backbone='resnet18'"):
        tl_templates.advise(100, backbone="resnet18")


def test_plan_serialises_and_describes_itself():
    plan = tl_templates.advise(100, similarity="different", backbone="resnet50")
    data = plan.to_dict()
    assert data["strategy"] == "truncate_and_fine_tune"
    assert data["truncate_after"] == "block2"
    text = plan.describe()
    assert "strategy: truncate_and_fine_tune" in text
    assert "phase 2: fine-tune block1, block2" in text


# The conditions compose: input type, then the ratio (small targets), then the four cases


@pytest.mark.parametrize("ratio", [0.2, 1, 5, 9.99, 10, 100])
@pytest.mark.parametrize(
    "target, similarity, case",
    [
        (SMALL, "similar", "feature_extraction"),
        (SMALL, "different", "truncate_and_fine_tune"),
        (LARGE, "similar", "fine_tune_top"),
        (200_000, "similar", "fine_tune_top"),
        (LARGE, "different", "fine_tune_all"),
    ],
)
def test_the_four_cases_at_several_source_to_target_ratios(target, similarity, case, ratio):
    source = round(ratio * target)
    plan = tl_templates.advise(target, source_examples=source, similarity=similarity)
    large = target >= advisor.LARGE_TARGET_MIN_EXAMPLES
    enough_source = source >= advisor.MIN_SOURCE_TO_TARGET_RATIO * target
    if large or enough_source:
        assert plan.strategy == case
        assert plan.reasons[0] == (
            f"Decided by the four cases: {'large' if large else 'small'} and {similarity}."
        )
        alternatives = [reason for reason in plan.reasons if "fair alternative" in reason]
        # A large target with a source under 10x its size: scratch is named, not chosen.
        assert len(alternatives) == (0 if enough_source else 1)
        if alternatives:
            assert "train_from_scratch is a fair alternative" in alternatives[0]
    else:
        assert plan.strategy == "train_from_scratch"
        assert plan.reasons[0].startswith("Decided by the source/target ratio: ")
        assert f"less than {advisor.MIN_SOURCE_TO_TARGET_RATIO}x" in plan.reasons[0]


def test_large_and_similar_is_fine_tuned_even_from_a_smaller_source():
    # The example of issue 15: 200,000 target examples, a 1,000,000-example source.
    plan = tl_templates.advise(200_000, source_examples=1_000_000, similarity="similar")
    assert plan.strategy == "fine_tune_top"
    text = " ".join(plan.reasons)
    assert "enough data to train from scratch" in text and "fine_tune_all" in text
    assert "train_from_scratch is a fair alternative" in text


@pytest.mark.parametrize("target", [10, SMALL, LARGE, 1_000_000])
@pytest.mark.parametrize("source", [None, 1, IMAGENET, 10**9])
def test_the_input_type_decides_before_sizes(target, source):
    plan = tl_templates.advise(target, source_examples=source, same_input_type=False)
    assert plan.strategy == "train_from_scratch"
    assert plan.reasons == [
        "Decided by the input type: the source network was trained on another kind of "
        "input; its low-level features do not fit yours, so transfer will not help."
    ]
    assert tl_templates.advise(
        target, source_examples=source, input_kind="audio", backbone="efficientnetb0"
    ).strategy == "train_from_scratch"


def test_an_unknown_source_size_leaves_the_four_cases_to_decide():
    for target, similarity, case in [(100, "similar", "feature_extraction"),
                                     (LARGE, "different", "fine_tune_all")]:  # fmt: skip
        plan = tl_templates.advise(target, similarity=similarity)
        assert plan.strategy == case and plan.reasons[0].startswith("Decided by the four cases")
