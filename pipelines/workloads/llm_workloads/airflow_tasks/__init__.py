"""Callables that rendered Airflow DAGs import inside their task bodies."""
