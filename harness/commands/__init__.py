"""Sub-commands of the stageflow-stress CLI, one module each."""
