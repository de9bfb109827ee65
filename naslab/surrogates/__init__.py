"""Performance predictors: architecture encodings and regressors with uncertainty."""
