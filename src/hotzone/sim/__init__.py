"""Scenario simulator: targets, sensor models and ground truth, deterministic under a seed."""
