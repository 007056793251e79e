"""The small Airflow runtime the rendered DAGs import.

`operators` holds thin operators (Anyscale job, service rollout, service teardown, Slack post, trigger
another pipeline). Importing it costs what `airflow.sdk` costs and nothing more: the Anyscale SDK, the
`astro-provider-anyscale` hook, the Slack provider and the standard provider's trigger operator are
imported only when a task runs, so the DAG processor does not pay for them on every parse.

Waits never hold a worker slot: the Anyscale operators submit or deploy, then defer to the triggers in
`triggers`, which poll the SDK from the triggerer (blocking SDK calls in a thread, off the event loop).
`states` decides, from plain status snapshots, whether a wait is done, still going or failed; it is the
part that knows Anyscale's state machine and is unit-tested on its own.
"""
