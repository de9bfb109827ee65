"""Training NB201 networks for real: models.py (the network), data.py (datasets as
tensors), trainer.py (the plain reference loop and the fast seed-batched trainer).

Everything here imports torch; nothing outside naslab.training, naslab.build,
naslab.train and evaluator=train does, so the tabular path works without torch.
"""
