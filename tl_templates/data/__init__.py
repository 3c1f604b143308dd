"""Users' data: class folders, label files, splits, defensive reading, `doctor`, input pipelines, class weights."""
