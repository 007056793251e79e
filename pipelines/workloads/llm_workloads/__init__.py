"""Workloads for the LLM fine-tuning and retraining platform.

Submodules are imported on demand; importing the package itself does no work and pulls in no
heavy dependency.
"""
