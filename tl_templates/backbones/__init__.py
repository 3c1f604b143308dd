"""Pretrained networks: the registry, named blocks, building, preprocessing, audio front end, YAMNet, the lab networks."""


def __getattr__(name):
    # `tl_templates.backbones` was a module before it became this package: its names still answer.
    from tl_templates import _moved

    return _moved.forward("backbones", "backbones", "backbones.build", name)
